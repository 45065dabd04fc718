"""Unicode text helpers shared by the pure modules: normalisation, tokenising, HTML to text."""

import re
import string
import unicodedata
from html import unescape
from html.entities import html5
from html.parser import HTMLParser

# A possessive ending ("NATO's", "NATO’s") belongs to the word before it, so it is dropped
# before splitting; otherwise "s" would be a word of its own and break phrase adjacency.
_POSSESSIVE = re.compile(r"['’ʼ][sS]\b")
_WORD = re.compile(r"\w+")
# An apostrophe between two Cyrillic letters is part of a Ukrainian word (об'єднання, п'ять,
# Мар'їнка). It is written as ', ’, ʼ or `; all become U+02BC, a letter to \w, so the word
# stays whole. Between Latin letters it still splits: French "l'Ukraine" names Ukraine.
_CYRILLIC = "а-яёіїєґА-ЯЁІЇЄҐ"  # ё too: split_words sees it before folding
# The apostrophe comes first so the regex engine skips to the next one; the look-behind then
# checks the letter before it (and the apostrophe itself again).
_CYRILLIC_APOSTROPHE = re.compile(f"['’ʼ`](?<=[{_CYRILLIC}]['’ʼ`])(?=[{_CYRILLIC}])")
WORD_APOSTROPHE = "ʼ"
_ASCII_WORD_BYTES = frozenset((string.ascii_letters + string.digits + "_").encode())
_ASCII_NON_WORD_TO_SPACE = bytes(c if c in _ASCII_WORD_BYTES else ord(" ") for c in range(256))


def fold(text: str) -> str:
    """Return text in the form all matching compares: NFKC, case-folded, ё as е."""
    # ё and е are one letter in everyday Russian writing ("Королёв" and "Королев" both
    # appear); str.replace is faster than a one-letter str.translate.
    return unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")


def split_words(text: str) -> list[str]:
    """Split text into its words as written (case kept): letters, digits and underscores."""
    return _split(unicodedata.normalize("NFKC", text))


def tokenize(text: str) -> list[str]:
    """Split text into folded words, in order: letters, digits and underscores."""
    return _split(fold(text))


def tokenize_and_split(text: str) -> tuple[list[str], list[str]]:
    """Return tokenize(text) and split_words(text), normalising the text once for both."""
    normalized = unicodedata.normalize("NFKC", text)
    # fold() is this NFKC form casefolded with ё as е (NFKC of NFKC is itself).
    return _split(normalized.casefold().replace("ё", "е")), _split(normalized)


def _split(normalized: str) -> list[str]:
    if normalized.isascii():
        # No Cyrillic, so no apostrophe to mark; ASCII's \w is [A-Za-z0-9_], so every other
        # character made a space and str.split() find the same words, about 4x faster.
        unmarked = _POSSESSIVE.sub("", normalized) if "'" in normalized else normalized
        return unmarked.encode("ascii").translate(_ASCII_NON_WORD_TO_SPACE).decode().split()
    return split_normalized(normalized)


def split_normalized(normalized: str) -> list[str]:
    """Split NFKC text into words, by the regular expressions that define them (any text)."""
    marked = _CYRILLIC_APOSTROPHE.sub(WORD_APOSTROPHE, normalized)
    return _WORD.findall(_POSSESSIVE.sub("", marked))


# Elements that end one paragraph and start the next; everything else is inline and only
# contributes its text to the paragraph around it.
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "caption", "center", "dd",
        "details", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form",
        "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p",
        "pre", "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
        "ul",
    }
)  # fmt: skip
# Elements whose content is never readable text (code, styling, fallbacks, vector drawings).
_DROPPED_TAGS = frozenset({"script", "style", "noscript", "template", "svg"})
# Invisible characters that only steer line breaking or encoding; they would hide inside
# words ("Bre\u200bxit") and defeat matching and deduplication. Control characters are not
# text either: feeds leak them from broken encodings.
_INVISIBLE = re.compile("[\u00ad\u200b\u2060\ufeff\x00-\x08\x0e-\x1b\x7f]")
# Characters that may follow "<" to open a tag, per the HTML tokenizer's tag-open state.
_TAG_OPENERS = frozenset("/!?" + string.ascii_letters)
# A complete character reference left over after one decoding: the source encoded it twice.
_ENTITY_REF = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# A blank line in text splits paragraphs: plain-text feeds separate paragraphs that way.
_BLANK_LINE = re.compile(r"\n\s*\n")


class _ParagraphParser(HTMLParser):
    """Collect the readable text of an HTML fragment, split into paragraphs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[str] = []
        self._parts: list[str] = []
        self._dropped_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED_TAGS:
            self._dropped_depth += 1
        elif tag in _BLOCK_TAGS:
            self.end_paragraph()

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED_TAGS:
            self._dropped_depth = max(0, self._dropped_depth - 1)
        elif tag in _BLOCK_TAGS:
            self.end_paragraph()

    def handle_data(self, data: str) -> None:
        if self._dropped_depth:
            return
        # The parser hands back a tag it could not parse (say, an unbalanced quote) as text
        # starting with "<"; a lone "<" is a real less-than sign and stays.
        if len(data) > 1 and data[0] == "<" and data[1] in _TAG_OPENERS:
            end = data.find(">")
            data = "" if end < 0 else data[end + 1 :]
        first, *rest = _BLANK_LINE.split(data)
        self._parts.append(first)
        for chunk in rest:
            self.end_paragraph()
            self._parts.append(chunk)

    def unknown_decl(self, data: str) -> None:
        # A CDATA section's content is literal text.
        if data.startswith("CDATA["):
            self.handle_data(data.removeprefix("CDATA["))

    def parse_marked_section(self, i: int, report: bool = True) -> int:
        # CPython's parser asserts on "<![" followed by anything but a known keyword; the
        # HTML standard reads such a section as a bogus comment that ends at the next ">".
        try:
            return super().parse_marked_section(i, report)
        except AssertionError:
            end = self.rawdata.find(">", i + 3)
            return len(self.rawdata) if end < 0 else end + 1

    def end_paragraph(self) -> None:
        """Close the paragraph being collected, keeping it only if it has text."""
        text = _collapse_whitespace("".join(self._parts))
        self._parts.clear()
        if text:
            self.paragraphs.append(text)


def _collapse_whitespace(text: str) -> str:
    """Return text with invisible characters gone and each whitespace run as one space."""
    # str.split() already treats no-break and other Unicode spaces as whitespace.
    # A regex finds them faster than str.translate walks every character.
    return " ".join(_INVISIBLE.sub("", text).split())


def _drop_unterminated_tag(html: str) -> str:
    """Cut off a tag left open at the end of the input, as a browser does at end of file."""
    # Feeds often truncate descriptions mid-tag ('... <a href="http://ex'); without this the
    # parser would hand the broken tag back as text.
    start = _find_tag_open(html, html.rfind(">") + 1)
    return html if start < 0 else html[:start]


def _find_tag_open(text: str, start: int) -> int:
    """Return the index of the first "<" at or after start that opens a tag, or -1."""
    index = text.find("<", start)
    while index >= 0 and text[index + 1 : index + 2] not in _TAG_OPENERS:
        index = text.find("<", index + 1)
    return index


# Most feed bodies are text in attribute-less tags ("<p>…</p><p>…</p>"). Such a fragment is
# split by one regex and its tags and text handed to the same handlers, as HTMLParser (with
# convert_charrefs) would hand them: each run of text between tags unescaped whole, "<x/>" as
# a start and an end. Anything else (attributes, comments, a "<" that opens no tag, elements
# whose content HTMLParser reads raw) goes through HTMLParser itself.
_SIMPLE_TAG = re.compile(r"</(?P<end>[A-Za-z][A-Za-z0-9]*)>|<(?P<start>[A-Za-z][A-Za-z0-9]*)(/?)>")
_SIMPLE_TAG_NAMES = _BLOCK_TAGS | {"a", "b", "i", "u", "s", "em", "strong", "span", "sub", "sup"}


def parse_simple(html: str) -> list[str] | None:
    """Return parse_html(html) for a fragment of text and simple tags, or None for any other."""
    parser = _ParagraphParser()
    position = 0
    for match in _SIMPLE_TAG.finditer(html):
        text = html[position : match.start()]
        if "<" in text:
            return None
        if text:
            parser.handle_data(unescape(text))
        end, start = match["end"], match["start"]
        tag = (end or start).lower()
        if tag not in _SIMPLE_TAG_NAMES:
            return None
        if end:
            parser.handle_endtag(tag)
        else:
            parser.handle_starttag(tag, [])
            if match[3]:
                parser.handle_endtag(tag)
        position = match.end()
    text = html[position:]
    if "<" in text:
        return None
    if text:
        parser.handle_data(unescape(text))
    parser.end_paragraph()
    return parser.paragraphs


def _parse(html: str) -> list[str]:
    """Return the paragraphs of one HTML fragment, decoding entities once."""
    simple = parse_simple(html)
    return parse_html(html) if simple is None else simple


def parse_html(html: str) -> list[str]:
    """Return _parse(html) read by HTMLParser (any fragment)."""
    parser = _ParagraphParser()
    parser.feed(_drop_unterminated_tag(html))
    parser.close()
    parser.end_paragraph()
    return parser.paragraphs


def _decode_leftover_ref(match: re.Match[str]) -> str:
    """Decode one character reference if it names a real character, else keep it."""
    ref = match.group()
    if ref.startswith("&#") or ref[1:] in html5:
        return unescape(ref)
    return ref


def _decode_twice_encoded(paragraph: str) -> list[str]:
    """Finish decoding a paragraph whose source escaped its entities or markup twice."""
    # Feeds often escape twice ("&amp;amp;", "&amp;#39;") or send escaped markup
    # ("&lt;p&gt;"); after one decoding those show up as references or tags in the text.
    if "&" not in paragraph and "<" not in paragraph:
        return [paragraph]  # nothing to decode, and _parse left it collapsed and non-empty
    decoded = _ENTITY_REF.sub(_decode_leftover_ref, paragraph)
    if _find_tag_open(decoded, 0) >= 0:
        return _parse(decoded)
    collapsed = _collapse_whitespace(decoded)
    return [collapsed] if collapsed else []


def html_to_paragraphs(html: str) -> list[str]:
    """Return the plain-text paragraphs of feed HTML or plain text, empty ones left out."""
    return [cleaned for paragraph in _parse(html) for cleaned in _decode_twice_encoded(paragraph)]
