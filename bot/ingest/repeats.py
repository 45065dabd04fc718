"""Which of a poll's new stories are new to their feed, and which repeat another (pure)."""

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from bot.ingest.similar_titles import first_similar, title_keys
from bot.ingest.stories import Story

# What a poll's stories are, given what is stored: the rules storage applies (and persists)
# but does not decide.


def new_to_feed(stories: Sequence[Story], known_keys: AbstractSet[str]) -> list[bool]:
    """Tell, per story, whether its feed has not stored it yet (a key seen before is not)."""
    return [story.key not in known_keys for story in stories]


@dataclass(frozen=True)
class Repeats:
    """Which of a poll's new stories repeat an earlier story; the others may alert."""

    # Per story: the id of the earliest stored story (any feed) it repeats, if any.
    stored: tuple[int | None, ...]
    # (key of a copy, key of its original) for stories repeating an earlier one of the poll.
    in_poll: tuple[tuple[str, str], ...]
    # Per story: neither kind of copy, so it is news and may alert.
    original: tuple[bool, ...]


def find_repeats(
    fresh: Sequence[Story],
    first_by_link: Mapping[str, int],
    first_by_title: Mapping[str, int],
    recent_titles: Sequence[tuple[int, str]] = (),
) -> Repeats:
    """Sort a poll's new stories (feed order) into copies and originals.

    A story is a copy when an earlier one (any feed, or earlier in this poll) has the same
    canonical link, or the same or a near-identical normalised title (similar_titles) within
    the dedup window: first_by_link and first_by_title give the id of the earliest stored
    story per link and per title (the latter only among stories seen within
    CROSS_FEED_DEDUP_WINDOW); recent_titles the (id, normalised title) of stored stories of
    that window sharing a title key with a fresh story (title_keys), a superset.
    """
    by_key = _by_key(recent_titles)
    stored = tuple(_earlier_copy(story, first_by_link, first_by_title, by_key) for story in fresh)
    in_poll = _copies_within(fresh, stored)
    copies = {copy for copy, _ in in_poll}
    original = tuple(
        earlier is None and story.key not in copies
        for story, earlier in zip(fresh, stored, strict=True)
    )
    return Repeats(stored, tuple(in_poll), original)


def _by_key(titles: Sequence[tuple[int, str]]) -> dict[str, list[tuple[int, str]]]:
    by_key: dict[str, list[tuple[int, str]]] = {}
    for story_id, title in titles:
        for key in title_keys(title):
            by_key.setdefault(key, []).append((story_id, title))
    return by_key


def _earlier_copy(
    story: Story,
    by_link: Mapping[str, int],
    by_title: Mapping[str, int],
    by_key: Mapping[str, list[tuple[int, str]]],
) -> int | None:
    """Return the id of an earlier stored story this one repeats, if any."""
    earlier = [by_link.get(story.canonical_link or ""), by_title.get(story.normalised_title)]
    keys = title_keys(story.normalised_title)
    candidates = [pair for key in keys for pair in by_key.get(key, ())]
    earlier.append(first_similar(story.normalised_title, candidates))
    return min((story_id for story_id in earlier if story_id is not None), default=None)


def _copies_within(fresh: Sequence[Story], copy_of: Sequence[int | None]) -> list[tuple[str, str]]:
    """Return (key of copy, key of original) for stories repeating an earlier one of the poll."""
    first_with: dict[str, str] = {}  # a link or title -> key of the first story carrying it
    # A title key -> (position, normalised title) of the poll's earlier stories holding it.
    keyed: dict[str, list[tuple[int, str]]] = {}
    copies: list[tuple[str, str]] = []
    for position, (story, original) in enumerate(zip(fresh, copy_of, strict=True)):
        marks = [mark for mark in (story.canonical_link, story.normalised_title) if mark]
        first = next((first_with[mark] for mark in marks if mark in first_with), None)
        keys = title_keys(story.normalised_title)
        if first is None:
            near = first_similar(
                story.normalised_title, [pair for key in keys for pair in keyed.get(key, ())]
            )
            first = None if near is None else fresh[near].key
        if first is not None and original is None:
            copies.append((story.key, first))
        for mark in marks:
            first_with.setdefault(mark, story.key)
        for key in keys:
            keyed.setdefault(key, []).append((position, story.normalised_title))
    return copies
