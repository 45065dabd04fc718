"""Tests for bot.ingest.similar_titles and find_repeats' near-identical titles (pure)."""

from datetime import UTC, datetime

import pytest

from bot.ingest.repeats import find_repeats
from bot.ingest.similar_titles import comparable, first_similar, same_story, title_keys
from bot.ingest.stories import Story, normalised_title, story_from_entry

NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _same(first: str, second: str) -> bool:
    a, b = normalised_title(first), normalised_title(second)
    decided = same_story(a, b)
    assert same_story(b, a) == decided, "the decision does not depend on the order"
    if decided:
        assert set(title_keys(a)) & set(title_keys(b)), "near-identical titles share a key"
    return decided


@pytest.mark.parametrize(
    ("first", "second"),
    [
        # Pairs from /work/shared/corpus/feeds/real: one wire story, two outlets.
        (
            "Anschlag in Magdeburg - Zahl der Todesopfer auf fünf gestiegen",  # deutschlandfunk
            "Anschlag in Magdeburg: Zahl der Toten auf fünf gestiegen",  # tagesschau
        ),
        (
            "Australia won't repatriate 34 women and children linked to IS from Syria",  # abc
            "Australia won't repatriate 34 women and children from Syria",  # npr
        ),
        (
            "Parts of northern India scorched by extreme heat with New Delhi on high alert",
            "Parts of northern India scorched by extreme heat, with New Delhi on high alert!",
        ),
        (
            "Зеленський прибув до Вашингтона на переговори",
            "Зеленський прибув у Вашингтон на переговори",
        ),
        (
            "Путин провел переговоры с премьером Индии в Кремле",
            "Путин провёл переговоры с премьером Индии в Кремле",
        ),
    ],
)
def test_the_same_story_from_two_outlets_is_one(first: str, second: str) -> None:
    assert _same(first, second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        # Two moments of one negotiation (cbsnews / npr): ratio 83.5, two alerts.
        (
            "U.S. and Iran wrap up second round of nuclear talks",
            "US and Iran to meet for second round of nuclear talks",
        ),
        # Shared words, different stories.
        (
            "Austria files terror charges in alleged Taylor Swift concert plot",
            "Austria Charges Man in Thwarted Attack on Taylor Swift Concert",
        ),
        ("Film festival ends today", "Berlinale film festival blends politics, pop culture"),
        # Numbers differ: another year, a toll that rose.
        (
            "Brownlow 2020: All the looks from the red carpet",
            "Brownlow 2021: All the looks from the red carpet",
        ),
        ("Strike on market in Sudan kills 28 people", "Strike on market in Sudan kills 40 people"),
    ],
)
def test_different_stories_sharing_words_are_not_one(first: str, second: str) -> None:
    assert not _same(first, second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Live updates", "Live Updates:"),
        ("Morning briefing, 12 May", "Morning briefing - 13 May"),
        ("News in brief", "News in brief (2)"),
        ("Latest news", "The latest news"),
        ("Top stories", "Top stories today"),
        ("Week in review", "The week in review"),
        ("Новини дня", "Головні новини дня"),
        ("Главные новости дня", "Главное за день"),
        ("Live updates: day 500", "Live updates: day 501"),
    ],
)
def test_generic_titles_are_never_near_identical(first: str, second: str) -> None:
    assert not comparable(normalised_title(first))
    assert not _same(first, second)
    assert title_keys(normalised_title(first)) == ()


@pytest.mark.parametrize("title", ["Fire", "Two killed", "Storm hits coast"])
def test_very_short_titles_are_not_compared(title: str) -> None:
    assert not comparable(normalised_title(title))
    assert not same_story(normalised_title(title), normalised_title(title + "!"))


def test_a_generic_opening_does_not_hide_the_story_after_it() -> None:
    first = "Live updates: Russia strikes Kyiv power plants overnight"
    second = "LIVE UPDATES - Russia strikes Kyiv power plants overnight"
    assert comparable(normalised_title(first))
    assert _same(first, second)


def test_keys_are_the_longest_words_and_first_similar_takes_the_smallest_id() -> None:
    title = normalised_title("Zelensky meets Macron in Paris for security talks")
    assert title_keys(title) == ("security", "zelensky", "macron")
    near = normalised_title("Zelensky meets Macron in Paris for security talks.")
    other = normalised_title("Macron meets Scholz in Berlin for budget talks")
    assert first_similar(title, [(9, near), (4, near), (2, other)]) == 4
    assert first_similar(title, [(2, other)]) is None


def _story(n: int, title: str, feed_id: int = 1) -> Story:
    return story_from_entry(feed_id, f"urn:{n}", f"https://n{n}.example/", title, NOON, None)


def test_find_repeats_finds_near_identical_titles_stored_and_in_the_poll() -> None:
    stored_near = _story(1, "Anschlag in Magdeburg: Zahl der Toten auf fünf gestiegen")
    first = _story(2, "Australia won't repatriate 34 women and children from Syria")
    poll_near = _story(
        3, "Australia won't repatriate 34 women and children linked to IS from Syria"
    )
    generic = _story(4, "Live updates")
    unrelated = _story(5, "Australia wins the toss in Sydney test")
    recent = [
        (7, normalised_title("Anschlag in Magdeburg - Zahl der Todesopfer auf fünf gestiegen")),
        (3, normalised_title("Live updates")),
        (5, normalised_title("Anschlag in Magdeburg - Zahl der Todesopfer auf 4 gestiegen")),
    ]
    repeats = find_repeats([stored_near, first, poll_near, generic, unrelated], {}, {}, recent)
    assert repeats.stored == (7, None, None, None, None)
    assert repeats.in_poll == ((poll_near.key, first.key),)
    assert repeats.original == (False, True, False, True, True)
