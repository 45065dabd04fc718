"""A feed body turned into stories, in a parser worker: parse (only what is new), clean, analyse."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum

from bot.ingest.incremental import KnownItems, parse_new
from bot.ingest.parse import ParsedEntry
from bot.ingest.stories import is_too_old, story_from_entry
from bot.storage.models import StoryToSave
from bot.text.analyzer import NOTHING, AnalyzedText, analyze
from bot.text.normalize import html_to_paragraphs
from bot.text.packed import pack
from bot.text.summary import summarize_paragraphs


@dataclass(frozen=True)
class PreparedFeed:
    """A parsed feed turned into stories, built in a worker process.

    Stories come from the entries parsed: with `known` items given, only the new or edited
    ones. `items` is what to remember for the next poll (None: parse that one in full).
    """

    title: str
    ttl_minutes: int | None
    error: str | None
    stories: tuple[StoryToSave, ...]
    items: KnownItems | None = None
    # Entries feedparser read, and known items it was not given.
    parsed_entries: int = 0
    skipped_items: int = 0


Analyze = Callable[[str], AnalyzedText]


class TextFor(Enum):
    """Which entries need their text cleaned, summarised and tokenised (the costly part)."""

    ALL = "all"
    ALERTABLE = "alertable"  # entries recent enough to alert anyone
    NONE = "none"  # a new feed's first poll alerts nobody


def prepare_feed(
    feed_id: int,
    body: bytes,
    headers: Mapping[str, str],
    url: str,
    now: float,
    text_for: TextFor = TextFor.ALL,
    known: KnownItems | None = None,
    *,
    morphology: bool = True,  # False: no uk/ru lemma keys (bench/ measures what they cost)
) -> PreparedFeed:
    """Parse a feed body and build its stories (runs in a worker process: CPU-heavy).

    With the items of the feed's last saved poll (`known`), only the others are parsed.
    """
    result = parse_new(body, headers, url, known, now)
    parsed = result.parsed
    seen_at = datetime.fromtimestamp(now, UTC)
    stories: dict[str, StoryToSave] = {}
    analyze_text = functools.partial(analyze, language=parsed.language, morphology=morphology)
    for entry in parsed.entries:
        prepared = _prepare_entry(feed_id, entry, seen_at, text_for, analyze_text)
        if prepared is not None:
            # A feed listing the same guid twice yields one story: the first, as it appears.
            stories.setdefault(prepared.story.key, prepared)
    error = parsed.error
    if error is None and parsed.bozo and not stories:
        # A broken document that yielded nothing usable is a failure, not an empty feed.
        error = f"malformed feed, no usable entries: {parsed.bozo}"
    return PreparedFeed(
        title=parsed.title,
        ttl_minutes=parsed.ttl_minutes,
        error=error,
        stories=tuple(stories.values()),
        items=result.known,
        parsed_entries=result.parsed_entries,
        skipped_items=result.skipped_items,
    )


def _prepare_entry(
    feed_id: int, entry: ParsedEntry, seen_at: datetime, text_for: TextFor, analyze_text: Analyze
) -> StoryToSave | None:
    alertable = not is_too_old(entry.published, seen_at)
    with_text = text_for is TextFor.ALL or (text_for is TextFor.ALERTABLE and alertable)
    fullest = max(entry.bodies, key=len, default="")
    text, summary = "", None
    if with_text:
        # Each body is read into paragraphs once, for the summary and the analysed text.
        paragraphs = [html_to_paragraphs(body) for body in entry.bodies]
        text = " ".join(paragraphs[entry.bodies.index(fullest)]) if entry.bodies else ""
        summary = summarize_paragraphs(entry.title, paragraphs)
    story = story_from_entry(feed_id, entry.guid, entry.link, entry.title, entry.published, summary)
    if not story.title and not story.link and not fullest.strip():
        return None
    analyzed = (
        analyze_text(matching_text(story.title, text, entry.categories)) if with_text else NOTHING
    )
    # Packed here, in the worker, for the dry run (/try) to match it again later.
    packed = pack(analyzed) if alertable and analyzed.words else b""
    return StoryToSave(story=story, analyzed=analyzed, alertable=alertable, packed=packed)


def matching_text(title: str, text: str, categories: Sequence[str]) -> str:
    """Return what a story is matched on: its title, its text and the publisher's categories.

    The categories count as story text for matching only; the reader sees the story as it is.
    """
    return "\n".join((title, text, *categories))
