"""Near-identical titles: the same story from another outlet, told by its title (pure).

Two outlets running one wire story rarely give it the very same title: "Anschlag in
Magdeburg - Zahl der Todesopfer auf fünf gestiegen" (Deutschlandfunk) and "Anschlag in
Magdeburg: Zahl der Toten auf fünf gestiegen" (Tagesschau). On the normalised titles
(bot.ingest.stories.normalised_title) rapidfuzz's `ratio` (an edit-distance similarity,
0-100) scores such pairs 90-100, while different stories about one subject score lower.
Measured on the real corpus (/work/shared/corpus/feeds/real, 2,966 titles, every pair from
two outlets): the same story scored 100 (abcnews/washingtontimes, twice), 92.2
(deutschlandfunk/tagesschau, above) and 90.1 (abcnews/npr, "Australia won't repatriate 34
women and children [linked to IS] from Syria"); the next pair, 83.5, is two moments of one
negotiation ("U.S. and Iran wrap up second round of nuclear talks" / "US and Iran to meet
for second round of nuclear talks"), which deserve two alerts. Hence SIMILARITY = 85.
token_set_ratio was not used: it scores a short title inside a long one as 100 ("Film
festival ends today" against any long title holding those words).

Titles that say nothing about the story are never compared: generic ones ("Live updates",
"Morning briefing", "Новини дня") once their generic words and numbers are set aside keep
fewer than MIN_WORDS words, as do very short titles. Numbers must agree: "Brownlow 2020: All
the looks" is not "Brownlow 2021: All the looks", and a death toll that rose is news.

Comparing each new title with every title of 48 h would cost too much at poll time, so a
title is looked up by its keys: its KEY_WORDS longest words, a cheap stand-in for its rarest
(long words are rare ones; "the", "and", "в" never are). Near-identical titles share most of
their words, so they share a key.
"""

from collections.abc import Iterable
from functools import lru_cache
from typing import NamedTuple

from rapidfuzz.fuzz import ratio

SIMILARITY = 85.0
MIN_WORDS = 4
KEY_WORDS = 3
# A key shorter than this is too common to narrow the search (and "war", "мир" never help).
MIN_KEY_LENGTH = 4

# Normalised (folded, punctuation-free) phrases that name a format, not a story: a title made
# of them, numbers and little else is generic whatever the outlet.
GENERIC_PHRASES: tuple[tuple[str, ...], ...] = tuple(
    tuple(phrase.split())
    for phrase in (
        # English
        "live updates",
        "live blog",
        "as it happened",
        "morning briefing",
        "evening briefing",
        "briefing",
        "news in brief",
        "in brief",
        "latest news",
        "breaking news",
        "top stories",
        "week in review",
        "the week in review",
        "news roundup",
        "roundup",
        "what we know",
        "what we know so far",
        "the latest",
        "live",
        "today",
        "daily",
        "headlines",
        # Ukrainian
        "новини",
        "новини дня",
        "головні новини",
        "останні новини",
        "стрічка новин",
        "онлайн",
        "наживо",
        "огляд тижня",
        "коротко",
        "ранковий брифінг",
        "головне за день",
        # Russian
        "новости",
        "новости дня",
        "главные новости",
        "последние новости",
        "лента новостей",
        "онлайн трансляция",
        "трансляция",
        "итоги недели",
        "коротко",
        "утренний брифинг",
        "главное за день",
        "главное",
    )
)
_GENERIC_WORDS = frozenset(word for phrase in GENERIC_PHRASES for word in phrase) | frozenset(
    {"the", "a", "an", "of", "for", "on", "in", "and", "day", "за", "дня", "дні", "в", "и", "і"}
)


class _Shape(NamedTuple):
    """What the decisions need of a normalised title, worked out once per title."""

    keys: tuple[str, ...]  # empty: not comparable
    numbers: frozenset[str]


@lru_cache(maxsize=8192)  # a poll looks each title up several times, candidates too
def _shape(normalised: str) -> _Shape:
    words = normalised.split()
    numbers = frozenset(w for w in words if w.isdigit())
    # The words that say what the story is: not generic, not numbers.
    story = [w for w in words if w not in _GENERIC_WORDS and not w.isdigit()]
    if len(story) < MIN_WORDS:
        return _Shape((), numbers)
    # A title of short words only is looked up by them all the same.
    long_words = {w for w in story if len(w) >= MIN_KEY_LENGTH} or set(story)
    keys = tuple(sorted(long_words, key=lambda w: (-len(w), w))[:KEY_WORDS])
    return _Shape(keys, numbers)


def comparable(normalised: str) -> bool:
    """Tell whether a normalised title says enough about its story to be compared at all."""
    return bool(_shape(normalised).keys)


def title_keys(normalised: str) -> tuple[str, ...]:
    """Return the words a title is looked up by (none if it is not comparable).

    The KEY_WORDS longest distinct story words, ties in alphabetical order: a title
    near-identical to it holds at least one of them.
    """
    return _shape(normalised).keys


def same_story(first: str, second: str) -> bool:
    """Tell whether two normalised titles from different outlets name the same story."""
    one, other = _shape(first), _shape(second)
    if not (one.keys and other.keys) or one.numbers != other.numbers:
        return False
    return first == second or ratio(first, second, score_cutoff=SIMILARITY) >= SIMILARITY


def first_similar(normalised: str, earlier: Iterable[tuple[int, str]]) -> int | None:
    """Return the smallest id among (id, normalised title) pairs naming the same story."""
    return min((i for i, title in earlier if same_story(normalised, title)), default=None)
