"""The publisher's categories count as story text for matching, and only for matching."""

from bot.ingest.prepare import prepare_feed
from bot.matching.index import SubscriptionIndex
from bot.matching.query import parse_query
from bot.storage.models import StoryToSave

HEADERS = {"content-type": "application/rss+xml"}
RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
<title>Feed</title><link>https://news.example/</link><language>{language}</language>
<item><title>{title}</title><link>https://news.example/1</link>
<description>{body}</description>{tags}</item>
</channel></rss>"""


def _story(title: str, body: str, tags: str, language: str = "en") -> StoryToSave:
    xml = RSS.format(title=title, body=body, tags=tags, language=language)
    (prepared,) = prepare_feed(1, xml.encode(), HEADERS, "https://news.example/rss", 0.0).stories
    return prepared


def _matched(queries: list[str], prepared: StoryToSave) -> list[str]:
    index = SubscriptionIndex()
    for chat, text in enumerate(queries):
        index.add(chat, parse_query(text).normalised, text)
    return index.match_queries(prepared.analyzed)


def test_a_story_matches_by_its_category_alone_and_the_reader_sees_no_change() -> None:
    tagged = _story(
        "Vote count goes on",
        "Officials counted ballots all night.",
        "<category>Elections</category>",
    )
    untagged = _story("Vote count goes on", "Officials counted ballots all night.", "")
    assert _matched(["election", "ballot", "sport"], tagged) == ["ballot", "election"]
    assert _matched(["election", "ballot", "sport"], untagged) == ["ballot"]
    assert tagged.story == untagged.story
    assert "Elections" not in (tagged.story.summary or "")


def test_categories_are_analysed_like_text_in_the_feeds_language() -> None:
    tagged = _story("Новини дня", "Коротко про головне.", "<dc:subject>Україні</dc:subject>", "uk")
    assert _matched(["Україна", "Ukraine", "НАТО"], tagged) == ["ukraine", "україна"]


def test_an_excluded_word_in_a_category_takes_the_story_out() -> None:
    tagged = _story("Late goal wins it", "NATO base team wins.", "<category>Football</category>")
    assert _matched(["NATO -football", "NATO"], tagged) == ["nato"]
