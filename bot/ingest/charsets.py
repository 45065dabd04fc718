"""Which characters a feed's bytes stand for: the charset decision, pure and without I/O.

The order: a byte-order mark (or XML's UTF-16/32 byte pattern); then valid UTF-8, whatever
the labels claim; then the HTTP charset and the XML declaration, when they can decode the
bytes; then, for bytes no label fits, a guess: the code pages of the feed's <language>,
the common Western code pages, and only then charset-normalizer's statistics. A code page
guessed from the language or the Western default must also give plausible text: cp1251
Cyrillic bytes are valid windows-1252 too, so "decodes without error" proves nothing.
"""

from __future__ import annotations

import codecs
import functools
import re
import unicodedata
from collections.abc import Iterator, Mapping
from itertools import islice

import charset_normalizer

# Where a declaration or a feed's <language> is looked for; both sit at the top.
DECLARATION_BYTES = 1_024
LANGUAGE_BYTES = 65_536
# Words with non-ASCII characters judged, letter by letter, per code page: plenty for any
# feed, and a bound on the Python-level work whatever the body's size. Only the first
# MAX_WORD characters of a longer word count.
SAMPLE_WORDS = 2_000
MAX_WORD = 64
# Share of non-ASCII characters in implausible words above which a code page is rejected.
# Real corpus feeds read in their own code page score at most 0.09 (all-caps acronyms);
# Cyrillic, Greek or Chinese feeds read as windows-1252 score 0.85 or more.
MAX_IMPLAUSIBLE = 0.2

_XML_ENCODING = re.compile(rb"""^(\s*<\?xml[^>]*?\bencoding\s*=\s*)(["'])([A-Za-z0-9._:-]+)\2""")
_CHARSET_PARAM = re.compile(r"""charset\s*=\s*["']?([^\s;"']+)["']?""", re.IGNORECASE)
# <language> (also dc:language) of RSS and RDF, else the first xml:lang (Atom).
_LANGUAGE_ELEMENT = re.compile(rb"<(?:\w+:)?language>\s*(?:<!\[CDATA\[\s*)?([A-Za-z]{2,3})\b")
_XML_LANG = re.compile(rb"""\bxml:lang\s*=\s*["']([A-Za-z]{2,3})\b""")
# XML 1.0 appendix F: a BOM, or '<' / '<?' in UTF-16 or UTF-32 without one. feedparser
# decodes these itself.
_UNICODE_STARTS = (
    codecs.BOM_UTF8,
    codecs.BOM_UTF16_LE,
    codecs.BOM_UTF16_BE,
    b"\x00\x00\xfe\xff",
    b"\x3c\x00\x00\x00",
    b"\x00\x00\x00\x3c",
    b"\x3c\x00\x3f\x00",
    b"\x00\x3c\x00\x3f",
)

# Labels that never get the final say on their own: valid UTF-8 is recognised without a
# label, and UTF-16/32 by a byte-order mark or the byte pattern above.
_UNICODE_LABELS = ("utf-8", "utf-16", "utf-32")

WESTERN = ("cp1252", "iso8859-1")
# The code pages feeds in these languages are commonly published in, most common first.
_CODE_PAGES_BY_LANGUAGE = (
    ("af ca cy da de en es eu fo fr ga gd gl id is it ms nb nl nn no oc pt sq sv sw", WESTERN),
    ("ru", ("cp1251", "koi8-r")),
    ("uk", ("cp1251", "koi8-u")),
    ("be bg mk", ("cp1251",)),
    ("cs hr hu pl ro sk sl", ("cp1250", "iso8859-2")),
    ("el", ("cp1253", "iso8859-7")),
    ("tr", ("cp1254", "iso8859-9")),
    ("he iw", ("cp1255", "iso8859-8")),
    ("ar fa ur", ("cp1256",)),
    ("et lt lv", ("cp1257", "iso8859-13")),
    ("ja", ("cp932", "euc_jp")),
    ("zh", ("gb18030", "big5")),
    ("ko", ("cp949",)),
)
LANGUAGE_CODE_PAGES: Mapping[str, tuple[str, ...]] = {
    language: code_pages
    for languages, code_pages in _CODE_PAGES_BY_LANGUAGE
    for language in languages.split()
}
# WHATWG Encoding Standard: these labels mean windows-1252 on the web.
_WINDOWS_1252_LABELS = frozenset({"ascii", "iso8859-1", "latin-1"})

# Alphabets that never share a word; a word mixing them is a wrong code page.
_ALPHABETS = frozenset({"LATIN", "CYRILLIC", "GREEK", "ARMENIAN", "HEBREW", "ARABIC"})
# Non-letters at home in news text; any other symbol or control is a wrong code page.
_TEXT_SYMBOLS = frozenset("€£¥¢©®™°±×÷№²³¹½¼¾•‰\u2032\u2033←→§¶µ")  # \u2032: prime
# Punctuation that may join two letters: apostrophes, the Catalan middle dot, dashes.
_WORD_JOINERS = frozenset("’‘ʼ·\u2010\u2011–—")  # \u2010, \u2011: hyphens
# Soft hyphen, zero-width space, Persian (non-)joiners, word joiner.
_ALLOWED_CONTROLS = frozenset("\u00ad\u200b\u200c\u200d\u2060")
# A word: ASCII letters and non-ASCII characters other than spaces (one character class,
# so a 5 MB run scans fast). Only the first MAX_WORD characters of a longer one count.
_WORD = re.compile(r"[^\x00-\x40\x5b-\x60\x7b-\x7f\s]+")
_LETTERS = re.compile(r"[^\W\d_]+")
# Unicode categories of symbols: currency, modifier, maths, other, other numbers (¹, ½).
_STRAY_SYMBOLS = frozenset({"Sc", "Sk", "Sm", "So", "No"})


def repair_charset(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """Return body and headers for the XML parser: UTF-8 and labelled so when decoded here."""
    match = _CHARSET_PARAM.search(headers.get("content-type", ""))
    text = decode_feed(body, match.group(1) if match else None)
    return (body, headers) if text is None else _as_utf8(text, headers)


def decode_feed(body: bytes, http_charset: str | None) -> str | None:
    """Return the feed's text, or None when its bytes can go to the XML parser as they are.

    None means the labels are right or there is nothing to decide: plain ASCII, a
    byte-order mark, UTF-8 with no other label, a UTF-16/32 label.
    """
    if body.isascii() or body.startswith(_UNICODE_STARTS):
        return None
    labels = [label for label in (_codec(http_charset), _declared_in_xml(body)) if label]
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        for label in labels:
            declared = _decode_label(body, label)
            if declared is not None:
                return declared
        return _guess(body)
    # Non-ASCII bytes that form valid UTF-8 are UTF-8: a legacy label on them is a lie.
    first_label = labels[0] if labels else "utf-8"
    return None if first_label.startswith(_UNICODE_LABELS) else text


def feed_language(body: bytes) -> str | None:
    """Return the primary language subtag the feed declares, lower case, if any."""
    head = body[:LANGUAGE_BYTES]
    match = _LANGUAGE_ELEMENT.search(head) or _XML_LANG.search(head)
    return match.group(1).decode("ascii").lower() if match else None


def implausible_share(text: str) -> float:
    """Return the share of non-ASCII characters that sit in words no language writes.

    A word is implausible when it holds a control or a stray symbol, punctuation between
    letters, an upper-case letter after a letter (кАК, ПЕРЕЖИТЬ: KOI8-R read as cp1251),
    two alphabets (Latin and Cyrillic: Portuguese read as cp1251), or Latin letters mostly
    accented (Ïðèâåò: cp1251 read as cp1252). Real text has few: acronyms, a stray symbol.
    """
    total = implausible = 0
    for word in islice(_words_with_non_ascii(text), SAMPLE_WORDS):
        count = sum(not char.isascii() for char in word)
        total += count
        if not _plausible_word(word):
            implausible += count
    return implausible / total if total else 0.0


def _words_with_non_ascii(text: str) -> Iterator[str]:
    for match in _WORD.finditer(text):
        word = match.group()[:MAX_WORD]
        if not word.isascii():
            yield word


def _codec(name: str | None) -> str | None:
    try:
        return codecs.lookup(name).name if name else None
    except LookupError:
        return None


def _declared_in_xml(body: bytes) -> str | None:
    declaration = _XML_ENCODING.match(body[:DECLARATION_BYTES])
    return _codec(declaration.group(3).decode("ascii")) if declaration else None


def _decode_label(body: bytes, label: str) -> str | None:
    """Return the body decoded as labelled, or None when the label cannot be right."""
    if label.startswith(_UNICODE_LABELS):
        return None
    names = WESTERN if label in _WINDOWS_1252_LABELS else (label,)
    for name in names:
        try:
            return body.decode(name)
        except UnicodeDecodeError:
            continue
    return None


def _guess(body: bytes) -> str:
    language = feed_language(body)
    hinted = LANGUAGE_CODE_PAGES.get(language, ()) if language else ()
    for candidates in dict.fromkeys((hinted, WESTERN)):
        text = _most_plausible(body, candidates)
        if text is not None:
            return text
    best = charset_normalizer.from_bytes(body).best()
    return body.decode(best.encoding if best is not None else "cp1252", errors="replace")


def _most_plausible(body: bytes, code_pages: tuple[str, ...]) -> str | None:
    best: tuple[float, str] | None = None
    for code_page in code_pages:
        try:
            text = body.decode(code_page)
        except UnicodeDecodeError:
            continue
        share = implausible_share(text)
        if share == 0.0:
            return text
        if share <= MAX_IMPLAUSIBLE and (best is None or share < best[0]):
            best = (share, text)
    return best[1] if best is not None else None


def _plausible_word(word: str) -> bool:
    alphabets: set[str] = set()
    for index, char in enumerate(word):
        if char.isalpha():
            alphabets.add(_alphabet(char))
            if char.isupper() and not char.isascii() and index and word[index - 1].isalpha():
                return False
        elif not _plausible_non_letter(word, index):
            return False
    if len(alphabets & _ALPHABETS) > 1:
        return False
    return all(_plausible_latin(run) for run in _LETTERS.findall(word))


def _plausible_non_letter(word: str, index: int) -> bool:
    char = word[index]
    category = unicodedata.category(char)
    if category.startswith("M") or char.isascii():
        return True
    if category.startswith("C"):
        return char in _ALLOWED_CONTROLS
    if category in _STRAY_SYMBOLS and char not in _TEXT_SYMBOLS:
        return False
    if char in _WORD_JOINERS or not 0 < index < len(word) - 1:
        return True
    # Scripts written with spaces do not put punctuation inside words; Chinese does.
    neighbours = (word[index - 1], word[index + 1])
    return not all(c.isalpha() and _alphabet(c) in _ALPHABETS for c in neighbours)


def _plausible_latin(run: str) -> bool:
    """Latin-script languages write mostly ASCII letters, at most two accented in a row."""
    accented = sum(not char.isascii() for char in run)
    if accented < 2 or any(_alphabet(char) != "LATIN" for char in run):
        return True
    longest = max(len(part) for part in re.split(r"[A-Za-z]+", run))
    return accented < len(run) and longest < 3


@functools.lru_cache(maxsize=4_096)
def _alphabet(letter: str) -> str:
    """Return the script a letter belongs to: the first word of its Unicode name."""
    return "LATIN" if letter.isascii() else unicodedata.name(letter, "").partition(" ")[0]


def _as_utf8(text: str, headers: Mapping[str, str]) -> tuple[bytes, dict[str, str]]:
    data = _XML_ENCODING.sub(rb"\1\2utf-8\2", text.encode("utf-8"), count=1)
    content_type = headers.get("content-type", "application/xml")
    if _CHARSET_PARAM.search(content_type):
        content_type = _CHARSET_PARAM.sub("charset=utf-8", content_type, count=1)
    else:
        content_type += "; charset=utf-8"
    return data, {**headers, "content-type": content_type}
