"""Near-identical titles (pure): which titles name one story, and the index that finds them."""

import pytest

from bot.ingest.similar_titles import MAX_KEY_TITLES, TitleIndex, same_story, title_shape
from bot.ingest.stories import normalised_title

HOUR = 3600.0
WINDOW = 48 * HOUR

# Pairs from the real corpus (/work/shared/corpus/feeds/real): one story, two outlets.
SAME = [
    (
        "Anschlag in Magdeburg - Zahl der Todesopfer auf fünf gestiegen",
        "Anschlag in Magdeburg: Zahl der Toten auf fünf gestiegen",
    ),
    (
        "Australia won't repatriate 34 women and children linked to IS from Syria",
        "Australia won't repatriate 34 women and children from Syria",
    ),
    (
        "Peru’s Congress votes to impeach President Jose Jeri in government shake-up",
        "Peru Votes to Impeach President José Jerí",
    ),
    (
        "'Apocalypse Now' actor Robert Duvall dies aged 95",
        "Hollywood legend Robert Duvall, star of ‘The Godfather’ and ‘Apocalypse Now,’ dies at 95",
    ),
]
DIFFERENT = [
    # Short and generic titles are inside any title holding their words.
    ("Meeting", "Trump Drops Tariff Threat After Meeting Yields ‘Framework’ of Greenland Deal"),
    ("What in the World?", "Nike is officially the hottest brand in the world"),
    ("Live updates: Ukraine", "Live updates: Ukraine war, day 1,000"),
    ("Morning briefing: markets, Ukraine, weather", "Morning briefing: markets, Ukraine, sport"),
    # Numbers and negations must agree.
    (
        "Brownlow Medal 2020 red carpet: all the looks",
        "Brownlow Medal 2021 red carpet: all the looks",
    ),
    ("Trump says he will meet Putin in Alaska", "Trump says he won't meet Putin in Alaska"),
    # One subject, two stories.
    (
        "Ukraine and Russia agree to a new round of peace talks in Geneva",
        "Ukraine and Russia agree on prisoner exchange ahead of Geneva talks",
    ),
]


@pytest.mark.parametrize(("first", "second"), SAME)
def test_one_story_from_two_outlets_is_the_same_story(first: str, second: str) -> None:
    assert same_story(normalised_title(first), normalised_title(second))
    assert same_story(normalised_title(second), normalised_title(first))


@pytest.mark.parametrize(("first", "second"), DIFFERENT)
def test_other_stories_and_generic_titles_are_not(first: str, second: str) -> None:
    assert not same_story(normalised_title(first), normalised_title(second))


def test_a_generic_title_has_no_shape() -> None:
    for title in ("Live updates", "Morning briefing", "Новини дня", "Главное за день 12 мая"):
        assert title_shape(normalised_title(title)) is None, title


def _index(*titles: tuple[int, int, str, float]) -> TitleIndex:
    index = TitleIndex(WINDOW)
    for story_id, feed_id, title, seen_at in titles:
        index.add(story_id, feed_id, normalised_title(title), seen_at)
    return index


def test_the_index_finds_the_earliest_story_of_another_feed() -> None:
    first, second = SAME[0]
    index = _index((7, 1, first, 0.0), (9, 2, first + " (Update)", 10.0))
    assert index.find(normalised_title(second), feed_id=3) == 7
    assert index.find(normalised_title(second), feed_id=1) == 9, "not its own feed's"
    assert index.find(normalised_title("Bundestag beschließt Haushalt für 2027"), 3) is None


def test_the_index_forgets_titles_older_than_the_window() -> None:
    first, second = SAME[1]
    index = _index((7, 1, first, 0.0))
    index.expire(WINDOW - 1)
    assert index.find(normalised_title(second), feed_id=2) == 7
    index.expire(WINDOW + 1)
    assert len(index) == 0
    assert index.find(normalised_title(second), feed_id=2) is None


def test_a_word_in_too_many_titles_is_no_key_so_the_search_stays_small() -> None:
    # Many titles share "ukraine", "russia", "talks": they narrow nothing.
    index = _index(
        *(
            (n, n, f"Ukraine Russia talks: {word} says officials", 0.0)
            for n, word in enumerate(f"person{n}" for n in range(MAX_KEY_TITLES + 1))
        )
    )
    seen: list[str] = []
    common = normalised_title("Ukraine Russia talks officials")
    shape = title_shape(common + " geneva")
    assert shape is not None
    seen.extend(entry.title for entry in index._candidates(shape))
    assert seen == [], "only common words: nobody is scored"
    rare = title_shape(normalised_title("Ukraine Russia talks: person7 says officials"))
    assert rare is not None
    assert [entry.story_id for entry in index._candidates(rare)] == [7]
