"""Tests for bot.ingest.stories: canonical links, story identity, age and title cleaning."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.ingest.stories import (
    HASH_KEY_PREFIX,
    Story,
    canonical_link,
    clean_title,
    find_repeats,
    is_too_old,
    new_to_feed,
    normalised_title,
    story_from_entry,
    story_key,
)

NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param(
            "https://example.com/a?utm_source=rss&utm_medium=feed&utm_x=1",
            "https://example.com/a",
            id="utm-params-removed",
        ),
        pytest.param(
            "https://example.com/a?id=7&utm_campaign=x&page=2",
            "https://example.com/a?id=7&page=2",
            id="utm-removed-others-kept-in-order",
        ),
        pytest.param("https://example.com/a?fbclid=abc", "https://example.com/a", id="fbclid"),
        pytest.param(
            "https://example.com/a?gclid=1&msclkid=2&mc_cid=3&mc_eid=4&igshid=5&_ga=6",
            "https://example.com/a",
            id="other-click-ids",
        ),
        pytest.param(
            "https://www.bbc.co.uk/news/x?at_medium=RSS&at_campaign=KARANGA",
            "https://www.bbc.co.uk/news/x",
            id="at-internet-params",
        ),
        pytest.param(
            "https://example.com/a?UTM_Source=rss&FBCLID=1",
            "https://example.com/a",
            id="tracking-names-any-case",
        ),
        pytest.param("https://example.com/a#comments", "https://example.com/a", id="fragment"),
        pytest.param(
            "HTTPS://WWW.Example.COM/Path", "https://www.example.com/Path", id="host-case"
        ),
        pytest.param("http://example.com:80/a", "http://example.com/a", id="default-http-port"),
        pytest.param("https://example.com:443/a", "https://example.com/a", id="default-https-port"),
        pytest.param(
            "https://example.com:8443/a", "https://example.com:8443/a", id="other-port-kept"
        ),
        pytest.param("http://example.com:443/a", "http://example.com:443/a", id="port-per-scheme"),
        pytest.param(
            "https://example.com/search?q=a%20b&lang=en",
            "https://example.com/search?q=a%20b&lang=en",
            id="real-params-kept-as-encoded",
        ),
        pytest.param("https://example.com/a?", "https://example.com/a", id="empty-query-dropped"),
        pytest.param(
            "https://example.com/a?utm_source=x", "https://example.com/a", id="query-emptied"
        ),
        pytest.param("https://example.com", "https://example.com/", id="empty-path-is-root"),
        pytest.param(
            "  https://example.com/a  \n", "https://example.com/a", id="surrounding-space"
        ),
        pytest.param("http://[::1]:8080/a", "http://[::1]:8080/a", id="ipv6-host"),
        pytest.param(
            "https://user@Example.com/a", "https://user@example.com/a", id="userinfo-kept"
        ),
        pytest.param("  not a url  ", "not a url", id="junk-stripped"),
        pytest.param("", "", id="empty"),
        pytest.param("http://[::1/a", "http://[::1/a", id="bad-ipv6-brackets"),
        pytest.param("http://example.com:99999/a", "http://example.com:99999/a", id="bad-port"),
        pytest.param("/news/123", "/news/123", id="relative-link"),
        pytest.param("mailto:desk@example.com", "mailto:desk@example.com", id="no-host"),
    ],
)
def test_canonical_link(url: str, expected: str) -> None:
    assert canonical_link(url) == expected


@given(st.text())
def test_canonical_link_never_raises_and_is_stable(url: str) -> None:
    once = canonical_link(url)
    assert canonical_link(once) == once


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        pytest.param("Ukraine: NATO talks", "ukraine nato talks", id="punctuation"),
        pytest.param("“Quoted” 'words'", "quoted words", id="quotes"),
        pytest.param("  many\n\tspaces  ", "many spaces", id="whitespace"),
        pytest.param("STRASSE Straße", "strasse strasse", id="casefold"),
        pytest.param("\uff46\uff55\uff4c\uff4c width", "full width", id="nfkc"),
        pytest.param("NATO’s summit", "nato summit", id="possessive"),
        pytest.param("", "", id="empty"),
    ],
)
def test_normalised_title(title: str, expected: str) -> None:
    assert normalised_title(title) == expected


def _title_hash_key(title: str, published: datetime | None) -> str:
    return story_key(None, None, title, published)


@pytest.mark.parametrize(
    ("guid", "link", "expected"),
    [
        pytest.param("urn:uuid:1", "https://example.com/a", "urn:uuid:1", id="guid-wins"),
        pytest.param("  urn:uuid:1 \n", None, "urn:uuid:1", id="guid-stripped"),
        pytest.param(
            "   ", "https://Example.com/a?utm_source=x", "https://example.com/a", id="blank-guid"
        ),
        pytest.param(
            None, "https://example.com/a#top", "https://example.com/a", id="canonical-link"
        ),
    ],
)
def test_story_key_prefers_guid_then_link(
    guid: str | None, link: str | None, expected: str
) -> None:
    assert story_key(guid, link, "Title", NOON) == expected


def test_story_key_falls_back_to_title_and_date_hash() -> None:
    key = _title_hash_key("Ukraine: talks", NOON)
    assert key.startswith(HASH_KEY_PREFIX)
    assert len(key) == len(HASH_KEY_PREFIX) + 64


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(("Ukraine: talks", NOON), ("ukraine talks", NOON), id="same-normalised"),
        pytest.param(
            ("Talks", NOON),
            ("Talks", NOON.astimezone(timezone(timedelta(hours=2)))),
            id="same-instant-other-zone",
        ),
        pytest.param(("Talks", NOON), ("Talks", NOON.replace(tzinfo=None)), id="naive-is-utc"),
    ],
)
def test_title_hash_key_equal(first: tuple[str, datetime], second: tuple[str, datetime]) -> None:
    assert _title_hash_key(*first) == _title_hash_key(*second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(("Talks", NOON), ("Other", NOON), id="other-title"),
        pytest.param(("Talks", NOON), ("Talks", NOON + timedelta(seconds=1)), id="other-time"),
        pytest.param(("Talks", NOON), ("Talks", None), id="date-missing"),
    ],
)
def test_title_hash_key_differs(
    first: tuple[str, datetime | None], second: tuple[str, datetime | None]
) -> None:
    assert _title_hash_key(*first) != _title_hash_key(*second)


@pytest.mark.parametrize(
    ("published", "too_old"),
    [
        pytest.param(None, False, id="no-date"),
        pytest.param(NOON, False, id="seen-at-once"),
        pytest.param(NOON - timedelta(hours=24), False, id="exactly-24h"),
        pytest.param(NOON - timedelta(hours=24, seconds=1), True, id="24h-and-1s"),
        pytest.param(NOON - timedelta(days=400), True, id="archive"),
        pytest.param(NOON + timedelta(days=3), False, id="future-counts-as-now"),
        pytest.param(
            (NOON - timedelta(hours=25)).replace(tzinfo=None), True, id="naive-taken-as-utc"
        ),
        pytest.param(
            (NOON - timedelta(hours=23)).astimezone(timezone(timedelta(hours=-5))),
            False,
            id="other-zone",
        ),
    ],
)
def test_is_too_old(published: datetime | None, too_old: bool) -> None:
    assert is_too_old(published, NOON) is too_old


def test_is_too_old_custom_max_age() -> None:
    assert is_too_old(NOON - timedelta(hours=2), NOON, max_age=timedelta(hours=1))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("Plain title", "Plain title", id="plain"),
        pytest.param("Tom &amp; Jerry &quot;live&quot;", 'Tom & Jerry "live"', id="entities"),
        pytest.param("&lt;b&gt; is a tag", "<b> is a tag", id="escaped-tag-is-text"),
        pytest.param("<b>Bold</b> news &amp; more", "Bold news & more", id="tags-removed"),
        pytest.param("Line one<br/>line two", "Line one line two", id="br-is-a-space"),
        pytest.param("a < b and c > d", "a < b and c > d", id="lone-angle-brackets"),
        pytest.param("  Split\n  over\tlines ", "Split over lines", id="whitespace"),
        pytest.param("Caf&eacute; &#8220;x&#8221;", "Café “x”", id="named-and-numeric"),
        pytest.param("", "", id="empty"),
        pytest.param(None, "", id="missing"),
    ],
)
def test_clean_title(raw: str | None, expected: str) -> None:
    assert clean_title(raw) == expected


def test_story_from_entry_with_everything() -> None:
    story = story_from_entry(
        7,
        "guid-1",
        " https://Example.com/a?utm_source=rss ",
        "Ukraine &amp; NATO: talks",
        NOON.astimezone(timezone(timedelta(hours=1))),
        "<p>Summary</p>",
    )
    assert story == Story(
        key="guid-1",
        feed_id=7,
        link="https://Example.com/a?utm_source=rss",
        canonical_link="https://example.com/a",
        title="Ukraine & NATO: talks",
        normalised_title="ukraine nato talks",
        summary="<p>Summary</p>",
        published=NOON,
    )
    assert story.published is not None
    assert story.published.tzinfo is UTC


def test_story_from_entry_with_nothing() -> None:
    story = story_from_entry(3, None, "  ", None, None, None)
    assert story.link is None
    assert story.canonical_link is None
    assert story.title == ""
    assert story.published is None
    assert story.key == _title_hash_key("", None)


def test_story_from_entry_keys_by_canonical_link_without_guid() -> None:
    story = story_from_entry(1, None, "https://example.com/a#x", "T", None, None)
    assert story.key == "https://example.com/a"


def _story(n: int, title: str, link: str | None = None) -> Story:
    return story_from_entry(1, f"urn:{n}", link, title, NOON, None)


def test_new_to_feed_is_what_the_feed_has_not_stored() -> None:
    stories = [_story(1, "One"), _story(2, "Two"), _story(3, "Three")]
    assert new_to_feed(stories, {stories[1].key}) == [True, False, True]
    assert new_to_feed(stories, set()) == [True, True, True]


def test_find_repeats_sorts_copies_of_stored_stories_and_of_the_poll() -> None:
    stored_link = _story(1, "Talks resume", "https://news.example/talks?utm_source=x")
    stored_title = _story(2, "UKRAINE: ceasefire holds!")
    first = _story(3, "Grain deal signed", "https://a.example/grain")
    same_link = _story(4, "Grain deal is signed", "https://a.example/grain?fbclid=1")
    same_title = _story(5, "grain deal signed")
    fresh = [stored_link, stored_title, first, same_link, same_title]
    repeats = find_repeats(
        fresh,
        {"https://news.example/talks": 7},
        {normalised_title("Ukraine ceasefire holds"): 9},
    )
    assert repeats.stored == (7, 9, None, None, None)
    assert repeats.in_poll == ((same_link.key, first.key), (same_title.key, first.key))
    assert repeats.original == (False, False, True, False, False)


def test_find_repeats_takes_the_earliest_stored_story_and_ignores_empty_titles() -> None:
    both = _story(1, "Talks", "https://news.example/talks")
    untitled = [_story(2, ""), _story(3, "")]
    repeats = find_repeats(
        [both, *untitled], {"https://news.example/talks": 12}, {normalised_title("Talks"): 5}
    )
    assert repeats.stored == (5, None, None)
    assert repeats.in_poll == ()
    assert repeats.original == (False, True, True)
