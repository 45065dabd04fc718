"""OPML 2.0 feed lists, read and written as plain data (pure: bytes in, bytes out).

Reading goes through defusedxml with DTDs forbidden, so entity expansion (billion laughs),
external entities and DTD fetches are refused before anything is expanded; the input is
bounded in bytes, in elements and in feeds before and while it is read. Folders (outlines
holding outlines) are flattened in document order, without recursion, so nesting depth costs
nothing but memory the byte bound already caps.
"""

import enum
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from bot.i18n import N_, ReadableError

# An OPML of 500 feeds with long titles is ~100 KB; a megabyte leaves room for notes and
# descriptions some readers export, and bounds what a hostile file costs to parse.
MAX_OPML_BYTES = 1024 * 1024
# Feeds one import may hold: each is fetched and parsed, like /addfeed.
MAX_IMPORT_FEEDS = 500
# Elements of any kind: a megabyte of empty folders is ~90,000, far past any real list.
MAX_ELEMENTS = 50_000
# Characters XML 1.0 cannot carry at all (a feed title may hold them): dropped on writing.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class ImportOutcome(enum.Enum):
    """What became of one feed of the list."""

    ADDED = "added"
    PRESENT = "present"
    REFUSED = "refused"


@dataclass(frozen=True)
class ImportedFeed:
    """One feed's outcome: the URL stored (or as listed, if refused), its title, and for a
    refused one the reason (rendered in the reader's locale when shown)."""

    url: str
    title: str
    outcome: ImportOutcome
    # An exception whose str() is the reason in the current locale (a FeedRejected).
    reason: Exception | None = None


class OpmlError(ReadableError):
    """The file is not an OPML feed list we can use; the message says why, for a person.

    The reason is a catalogue msgid and its parameters, rendered in the current locale when
    shown (as bot.ingest.discovery.FeedRejected).
    """


@dataclass(frozen=True)
class OpmlFeed:
    """One feed of a list: its URL (xmlUrl) and its title ("" if the list gave none)."""

    url: str
    title: str = ""


def read_opml(data: bytes) -> list[OpmlFeed]:
    """Return the feeds of an OPML document, folders flattened, each URL once, in order.

    Raises OpmlError for anything else: too big, not XML, a DTD or entities, not OPML, no
    feeds, too many feeds.
    """
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError(
            N_("The file is {size} KB; an OPML list may be at most {limit} KB."),
            size=len(data) // 1024,
            limit=MAX_OPML_BYTES // 1024,
        )
    root = _parse(data)
    if _local_name(root.tag) != "opml":
        raise OpmlError(
            N_("This is XML but not OPML: its root element is “{tag}”."), tag=_tag(root)
        )
    body = next((child for child in root if _local_name(child.tag) == "body"), None)
    if body is None:
        raise OpmlError(N_("This OPML file has no body, so it lists no feeds."))
    feeds = _unique(_feeds_in(body))
    if not feeds:
        raise OpmlError(N_("This OPML file lists no feeds (no outline has an xmlUrl)."))
    if len(feeds) > MAX_IMPORT_FEEDS:
        raise OpmlError(
            N_("This OPML file lists {count} feeds; at most {limit} can be imported at once."),
            count=len(feeds),
            limit=MAX_IMPORT_FEEDS,
        )
    return feeds


def write_opml(feeds: Sequence[OpmlFeed], *, title: str, created: datetime) -> bytes:
    """Return an OPML 2.0 document (UTF-8) listing feeds, one outline each, in order.

    created must be timezone-aware (dateCreated is an RFC 822 date).
    """
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = _one_line(title)
    ET.SubElement(head, "dateCreated").text = format_datetime(created)
    body = ET.SubElement(root, "body")
    for feed in feeds:
        url, name = _xml_text(feed.url).strip(), _one_line(feed.title)
        # OPML requires text; without a title it is the URL, and title is left out.
        outline = ET.SubElement(body, "outline", type="rss", text=name or url)
        if name:
            outline.set("title", name)
        outline.set("xmlUrl", url)
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"


def _parse(data: bytes) -> ET.Element:
    try:
        root: ET.Element = SafeET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        raise OpmlError(
            N_("The file declares a DTD or entities, which are refused for safety.")
        ) from None
    except ET.ParseError as error:
        raise OpmlError(N_("The file is not well-formed XML: {error}."), error=str(error)) from None
    except (LookupError, ValueError) as error:
        # An encoding expat and Python's codecs do not know (or cannot map byte by byte).
        raise OpmlError(N_("The file is not well-formed XML: {error}."), error=str(error)) from None
    if sum(1 for _ in root.iter()) > MAX_ELEMENTS:
        raise OpmlError(
            N_("The file has more than {limit} elements; that is not a feed list."),
            limit=MAX_ELEMENTS,
        )
    return root


def _feeds_in(body: ET.Element) -> Iterable[OpmlFeed]:
    """Every outline with an xmlUrl under body, depth first in document order, no recursion."""
    stack = list(reversed(body))
    while stack:
        element = stack.pop()
        if _local_name(element.tag) != "outline":
            continue
        attributes = {_local_name(name).lower(): value for name, value in element.attrib.items()}
        url = attributes.get("xmlurl", "").strip()
        if url:
            title = _one_line(attributes.get("title", "") or attributes.get("text", ""))
            yield OpmlFeed(url, "" if title == url else title)
        stack.extend(reversed(element))


def _unique(feeds: Iterable[OpmlFeed]) -> list[OpmlFeed]:
    seen: dict[str, OpmlFeed] = {}
    for feed in feeds:
        seen.setdefault(feed.url, feed)
    return list(seen.values())


def _local_name(tag: object) -> str:
    """A tag or attribute name without its {namespace} (comments' tags are functions)."""
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _tag(element: ET.Element) -> str:
    return _local_name(element.tag)[:40]


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("", text)


def _one_line(title: str) -> str:
    """A title as one line of single spaces, as a list shows it."""
    return " ".join(_xml_text(title).split())
