"""A feed entry as a Story (identity, canonical link, clean title); which stories are new."""

import hashlib
import html
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import SplitResult, unquote_plus, urlsplit, urlunsplit

from bot.text.normalize import tokenize

# Query parameters that only say how a reader arrived (ad clicks, newsletters, share
# buttons). Two links that differ only in these are the same story, so they are dropped
# before links are compared. Names are matched case-insensitively.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",  # Facebook
        "gclid",  # Google Ads
        "gbraid",  # Google Ads (iOS)
        "wbraid",  # Google Ads (iOS, web to app)
        "dclid",  # Google Display
        "msclkid",  # Microsoft Ads
        "yclid",  # Yandex
        "igshid",  # Instagram share
        "mc_cid",  # Mailchimp campaign
        "mc_eid",  # Mailchimp recipient
        "_ga",  # Google Analytics cross-domain
        "_gl",  # Google Analytics cross-domain (gtag)
        "ref_src",  # Twitter/X embeds
        "cmpid",  # campaign id (Guardian, Reuters and others)
        "ocid",  # Microsoft/MSN
        "mkt_tok",  # Marketo
        "at_medium",  # AT Internet (BBC and others)
        "at_campaign",
        "at_campaign_type",
        "at_custom1",
        "at_custom2",
        "at_custom3",
        "at_custom4",
        "at_link",
        "at_link_id",
        "at_link_origin",
        "at_link_type",
        "at_format",
        "at_ptr_name",
        "at_bbc_team",
        "xtor",  # AT Internet (French and Belgian press)
        "ns_mchannel",  # comScore (older BBC links)
        "ns_source",
        "ns_campaign",
        "ns_linkname",
        "ns_fee",
    }
)
# Every utm_* parameter is Google Analytics campaign tagging, whatever the suffix.
TRACKING_PREFIXES = ("utm_",)

DEFAULT_PORTS = {"http": 80, "https": 443}
# Entries published this long before Newshound first saw them are recorded, not alerted:
# a feed that republishes its archive must not flood subscribers.
MAX_STORY_AGE = timedelta(hours=24)
# The same title in two feeds within this window is one story (the same link always is).
CROSS_FEED_DEDUP_WINDOW = timedelta(hours=48)
HASH_KEY_PREFIX = "sha256:"

# Tags that separate words visually; removing them must leave a space, not glue words.
_WORD_BREAKING_TAGS = frozenset({"br", "p", "div", "li", "hr", "tr", "td", "th"})


@dataclass(frozen=True, slots=True)
class Story:
    """One feed entry, cleaned and identified, ready to store and match."""

    key: str
    feed_id: int
    link: str | None
    canonical_link: str | None
    title: str
    normalised_title: str
    summary: str | None
    published: datetime | None


def canonical_link(url: str) -> str:
    """Return url in the form used to compare links; junk comes back only stripped."""
    stripped = url.strip()
    try:
        parts = urlsplit(stripped)
        netloc = _canonical_netloc(parts)
    except ValueError:  # bad IPv6 brackets, a port that is not a number, ...
        return stripped
    if not parts.scheme or not netloc:
        return stripped
    path = parts.path or ("/" if parts.scheme in DEFAULT_PORTS else "")
    return urlunsplit((parts.scheme, netloc, path, _without_tracking(parts.query), ""))


def _canonical_netloc(parts: SplitResult) -> str:
    """Return the lower-cased host with user info and any non-default port."""
    host = parts.hostname or ""
    if not host:
        return ""
    if ":" in host:  # an IPv6 literal loses its brackets in .hostname
        host = f"[{host}]"
    userinfo, _, _ = parts.netloc.rpartition("@")
    port = parts.port  # raises ValueError for a port out of range
    if port is not None and port != DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{port}"
    return f"{userinfo}@{host}" if userinfo else host


def _without_tracking(query: str) -> str:
    """Drop tracking parameters, keeping the others in order and as originally encoded."""
    kept = [pair for pair in query.split("&") if pair and not _is_tracking(pair)]
    return "&".join(kept)


def _is_tracking(pair: str) -> bool:
    name = unquote_plus(pair.partition("=")[0]).lower()
    return name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES)


def normalised_title(title: str) -> str:
    """Return the title as compared across feeds: folded words, no punctuation."""
    return " ".join(tokenize(title))


def story_key(guid: str | None, link: str | None, title: str, published: datetime | None) -> str:
    """Return the story's identity within its feed: guid, else link, else a title hash."""
    if guid and guid.strip():
        return guid.strip()
    if link and link.strip():
        return canonical_link(link)
    date = _as_utc(published).isoformat() if published else ""
    digest = hashlib.sha256(f"{normalised_title(title)}\n{date}".encode()).hexdigest()
    return HASH_KEY_PREFIX + digest


def is_too_old(
    published: datetime | None, first_seen: datetime, max_age: timedelta = MAX_STORY_AGE
) -> bool:
    """Tell whether the entry was published more than max_age before it was first seen."""
    if published is None:
        return False
    # A date in the future (a wrong feed clock) counts as now: the age is never negative,
    # so it is never too old.
    return _as_utc(first_seen) - _as_utc(published) > max_age


def clean_title(title: str | None) -> str:
    """Return the title as plain text on one line: entities decoded, tags removed."""
    if not title:
        return ""
    text = _strip_tags(title) if "<" in title else html.unescape(title)
    return " ".join(text.split())


def story_from_entry(
    feed_id: int,
    entry_guid: str | None,
    entry_link: str | None,
    entry_title: str | None,
    entry_published: datetime | None,
    summary: str | None,
) -> Story:
    """Build the Story for one feed entry; the summary is kept as given."""
    link = entry_link.strip() if entry_link and entry_link.strip() else None
    title = clean_title(entry_title)
    published = _as_utc(entry_published) if entry_published else None
    return Story(
        key=story_key(entry_guid, link, title, published),
        feed_id=feed_id,
        link=link,
        canonical_link=canonical_link(link) if link else None,
        title=title,
        normalised_title=normalised_title(title),
        summary=summary,
        published=published,
    )


def _as_utc(moment: datetime) -> datetime:
    """Return moment in UTC; a naive time is taken to be UTC already, as feedparser's are."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class _TextExtractor(HTMLParser):
    """Collect the text of an HTML fragment, decoding entities and dropping tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _WORD_BREAKING_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _WORD_BREAKING_TAGS:
            self.parts.append(" ")


def _strip_tags(fragment: str) -> str:
    extractor = _TextExtractor()
    extractor.feed(fragment)
    extractor.close()
    return "".join(extractor.parts)


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
    similar: Sequence[int | None] = (),
) -> Repeats:
    """Sort a poll's new stories (feed order) into copies and originals.

    A story is a copy when an earlier one (any feed, or earlier in this poll) has the same
    canonical link, or the same normalised title within the dedup window: first_by_link and
    first_by_title give the id of the earliest stored story per link and per title (the
    latter only among stories seen within CROSS_FEED_DEDUP_WINDOW); or when `similar` gives,
    per story, an earlier one of another feed with a near-identical title
    (bot.ingest.similar_titles; empty: none looked for).
    """
    near = similar or [None] * len(fresh)
    stored = tuple(
        _earlier_copy(story, first_by_link, first_by_title, also)
        for story, also in zip(fresh, near, strict=True)
    )
    in_poll = _copies_within(fresh, stored)
    copies = {copy for copy, _ in in_poll}
    original = tuple(
        earlier is None and story.key not in copies
        for story, earlier in zip(fresh, stored, strict=True)
    )
    return Repeats(stored, tuple(in_poll), original)


def _earlier_copy(
    story: Story, by_link: Mapping[str, int], by_title: Mapping[str, int], similar: int | None
) -> int | None:
    """Return the id of an earlier stored story this one repeats, if any."""
    earlier = [
        by_link.get(story.canonical_link or ""),
        by_title.get(story.normalised_title),
        similar,
    ]
    return min((story_id for story_id in earlier if story_id is not None), default=None)


def _copies_within(fresh: Sequence[Story], copy_of: Sequence[int | None]) -> list[tuple[str, str]]:
    """Return (key of copy, key of original) for stories repeating an earlier one of the poll."""
    first_with: dict[str, str] = {}  # a link or title -> key of the first story carrying it
    copies: list[tuple[str, str]] = []
    for story, original in zip(fresh, copy_of, strict=True):
        marks = [mark for mark in (story.canonical_link, story.normalised_title) if mark]
        first = next((first_with[mark] for mark in marks if mark in first_with), None)
        if first is not None and original is None:
            copies.append((story.key, first))
        for mark in marks:
            first_with.setdefault(mark, story.key)
    return copies
