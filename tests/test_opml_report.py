"""The OPML import report as a person reads it: counts, sections, escaping, splitting."""

from bot.i18n import use_locale
from bot.ingest.discovery import FeedRejected
from bot.ingest.opml import ImportedFeed, ImportOutcome
from bot.render.html import TELEGRAM_TEXT_LIMIT, visible_length
from bot.render.opml import import_report

ADDED, PRESENT, REFUSED = ImportOutcome.ADDED, ImportOutcome.PRESENT, ImportOutcome.REFUSED


def test_each_feed_under_its_outcome_titles_escaped_for_telegram() -> None:
    results = [
        ImportedFeed("https://a.example/rss?x=1&y=2", "A <b>bold</b> & co", ADDED),
        ImportedFeed("https://b.example/feed", "", PRESENT),
        ImportedFeed(
            "ftp://c.example/", "C", REFUSED, FeedRejected("could not fetch {url}: {error}",
                                                           url="ftp://c.example/", error="<x>")
        ),
    ]  # fmt: skip
    [html] = import_report(results)
    assert html == (
        "Import finished: 1 added, 1 already watched, 1 refused.\n\n"
        "✅ Added (their current entries are recorded, not alerted):\n"
        "• A &lt;b&gt;bold&lt;/b&gt; &amp; co (https://a.example/rss?x=1&amp;y=2)\n\n"
        "Already watched:\n"
        "• https://b.example/feed\n\n"
        "❌ Refused:\n"
        "• ftp://c.example/: could not fetch ftp://c.example/: &lt;x&gt;"
    )
    [plain] = import_report(results, html=False)
    assert "• A <b>bold</b> & co (https://a.example/rss?x=1&y=2)" in plain
    assert "Refused" in plain and "&lt;" not in plain


def test_a_long_report_is_split_into_messages_telegram_accepts() -> None:
    results = [
        ImportedFeed(f"https://feed{n}.example/rss", f"Feed number {n} " * 4, ADDED)
        for n in range(500)
    ]
    parts = import_report(results)
    assert len(parts) > 1
    assert all(visible_length(part) <= TELEGRAM_TEXT_LIMIT for part in parts)
    joined = "\n".join(parts)
    assert all(f"https://feed{n}.example/rss" in joined for n in range(500))
    assert len(import_report(results, html=False)) == 1


def test_the_report_speaks_the_readers_language() -> None:
    with use_locale("ru"):
        [text] = import_report([ImportedFeed("https://a.example/", "A", PRESENT)])
    assert text.startswith("Импорт завершён: добавлено 0, уже отслеживаются 1, отклонено 0.")
