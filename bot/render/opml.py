"""What an admin reads about OPML import and export: Telegram HTML, or plain text for the shell."""

from collections.abc import Callable, Sequence
from html import escape

from bot.i18n import t, tn
from bot.ingest.opml import MAX_OPML_BYTES, ImportedFeed, ImportOutcome
from bot.render.html import split_message


def import_usage() -> str:
    return t(
        "Attach an OPML file (.opml) with <code>/importfeeds</code> as its caption, or reply "
        "<code>/importfeeds</code> to a message that has one. Each feed is checked like "
        "/addfeed; you get a report of what was added, already watched and refused."
    )


def file_too_big(size: int) -> str:
    """Refuse a document before downloading it."""
    return t(
        "❌ That file is {size} KB; an OPML list may be at most {limit} KB.",
        size=size // 1024,
        limit=MAX_OPML_BYTES // 1024,
    )


def reading_file(name: str) -> str:
    return t("Reading {name} …", name=escape(name))


def download_failed() -> str:
    return t("❌ Could not download the file from Telegram. Please send it again.")


def not_imported(reason: str) -> str:
    """The file was refused as a whole; nothing was added."""
    return t("❌ Nothing imported: {reason}", reason=escape(reason))


def checking_feeds(count: int) -> str:
    return tn(
        "Checking {n} feed … this can take a minute.",
        "Checking {n} feeds … this can take a minute.",
        count,
    )


def export_caption(count: int) -> str:
    return tn("{n} feed, as OPML.", "{n} feeds, as OPML.", count)


def export_title() -> str:
    """The title inside an exported OPML document."""
    return t("Newshound feeds")


def nothing_to_export() -> str:
    return t("No feeds to export yet. Add one with /addfeed &lt;URL&gt;.")


def import_report(results: Sequence[ImportedFeed], *, html: bool = True) -> list[str]:
    """The report of an import: the counts, then each feed under its outcome.

    As Telegram HTML split into messages within its limit, or (html=False) as plain text in
    one piece, for the shell.
    """
    mark: Callable[[str], str] = escape if html else str
    added = [r for r in results if r.outcome is ImportOutcome.ADDED]
    present = [r for r in results if r.outcome is ImportOutcome.PRESENT]
    refused = [r for r in results if r.outcome is ImportOutcome.REFUSED]
    lines = [
        t(
            "Import finished: {added} added, {present} already watched, {refused} refused.",
            added=len(added),
            present=len(present),
            refused=len(refused),
        )
    ]
    if added:
        lines += ["", t("✅ Added (their current entries are recorded, not alerted):")]
        lines += [_feed_line(result, mark) for result in added]
    if present:
        lines += ["", t("Already watched:")]
        lines += [_feed_line(result, mark) for result in present]
    if refused:
        lines += ["", t("❌ Refused:")]
        lines += [
            t("• {url}: {reason}", url=mark(result.url), reason=mark(str(result.reason)))
            for result in refused
        ]
    text = "\n".join(lines)
    return split_message(text) if html else [text]


def _feed_line(result: ImportedFeed, mark: Callable[[str], str]) -> str:
    if not result.title:
        return t("• {url}", url=mark(result.url))
    return t("• {title} ({url})", title=mark(result.title), url=mark(result.url))
