"""The parser workers' fast paths against the plain code they stand in for: same results.

Each fast path (simple HTML split by one regex, ASCII words by str.split, the cached case of
a word, the end-anchored summary patterns skipped when they cannot match, the boilerplate
patterns as one, the item scan by finditer, known items taken whole) must give exactly what
the plain version gives.
The plain versions are written out here as they were before the fast paths, and both run on
random text and on every entry of the real feed corpus (those tests skip cleanly without it).
"""

import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.ingest import incremental
from bot.ingest.parse import parse_input, parser_input
from bot.text import analyzer, normalize, summary
from bot.text.analyzer import AnalyzedText, analyze
from bot.text.language import MORPHOLOGY_LANGUAGES, story_language
from bot.text.morphology import lemmatizer
from tests import corpus

# ---- the plain versions ----


def plain_tokens(text: str) -> list[str]:
    return normalize.split_normalized(normalize.fold(text))


def plain_written(text: str) -> list[str]:
    return normalize.split_normalized(unicodedata.normalize("NFKC", text))


def plain_case(written: str) -> int:
    if not written[:1].isupper():
        return analyzer.LOWER
    return analyzer.UPPER if written.isupper() else analyzer.CAPITALISED


def plain_analyze(text: str, language: str | None) -> AnalyzedText:
    words, written = plain_tokens(text), plain_written(text)
    cases = bytes(plain_case(word) for word in written) if len(written) == len(words) else b""
    detected = story_language(language, text) if words else language
    extra: list[tuple[int, str]] = []
    if detected in MORPHOLOGY_LANGUAGES:
        lemma_keys = lemmatizer(detected).lemma_keys
        extra = [(position, key) for position, word in enumerate(words) for key in lemma_keys(word)]
    return AnalyzedText(tuple(words), tuple(extra), cases, detected)


def plain_paragraphs(html: str) -> list[str]:
    """html_to_paragraphs with HTMLParser for every fragment and every paragraph decoded."""
    result = []
    for paragraph in normalize.parse_html(html):
        decoded = normalize._ENTITY_REF.sub(normalize._decode_leftover_ref, paragraph)
        if normalize._find_tag_open(decoded, 0) >= 0:
            result.extend(plain_paragraphs(decoded))
        elif collapsed := normalize._collapse_whitespace(decoded):
            result.append(collapsed)
    return result


def plain_strip_markers(paragraph: str) -> str:
    stripped = summary._TRAILING_MARKER.sub("", paragraph)
    while stripped != paragraph:
        paragraph = stripped
        stripped = summary._TRAILING_MARKER.sub("", paragraph)
    return paragraph


_BOILERPLATE_EACH = tuple(re.compile(p, re.IGNORECASE) for p in summary._BOILERPLATE_PATTERNS)


def plain_is_boilerplate(paragraph: str) -> bool:
    if len(paragraph) > summary._MAX_BOILERPLATE_CHARS:
        return False
    if summary._BYLINE.fullmatch(paragraph):
        return True
    return any(pattern.fullmatch(paragraph) for pattern in _BOILERPLATE_EACH)


def plain_truncation(text: str) -> tuple[str, bool]:
    complete = summary._TRUNCATION.sub("", text)
    return complete, complete != text


def plain_scan_spans(body: bytes) -> list[tuple[int, int]] | None:
    """scan_items' spans as its search-per-token loop found them."""
    if body.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\0" in body[:4]:
        return None
    spans: list[tuple[int, int]] = []
    kinds: set[bytes] = set()
    open_name: bytes | None = None
    start = position = 0
    while (match := incremental._TOKEN.search(body, position)) is not None:
        position = match.end()
        skipped = match.lastgroup if match.lastgroup in incremental._SKIP_TO else None
        if skipped is not None:
            end = body.find(incremental._SKIP_TO[skipped], position)
            if end < 0:
                return None
            position = end + len(incremental._SKIP_TO[skipped])
        elif match["doctype"]:
            return None
        elif match["close"]:
            if match["name"] != open_name:
                return None
            spans.append((start, position))
            open_name = None
        elif open_name is not None:
            return None
        else:
            kinds.add(match["local"])
            if match["rest"].endswith(b"/"):
                spans.append((match.start(), position))
            else:
                start, open_name = match.start(), match["name"]
    if open_name is not None or len(kinds) > 1:
        return None
    return spans


def plain_markup(body: bytes, spans: list[tuple[int, int]]) -> bytes:
    tags: list[bytes] = []
    begin = 0
    for end, after in [*spans, (len(body), len(body))]:
        tags.extend(
            match.group()
            for match in incremental._MARKUP.finditer(body, begin, end)
            if not match.group().startswith((b"<![CDATA[", b"<!--"))
        )
        begin = after
    return b"".join(tags)


# ---- the checks, on any input ----


def check_text(text: str) -> None:
    assert normalize.tokenize(text) == plain_tokens(text)
    assert normalize.split_words(text) == plain_written(text)
    for language in (None, "en", "uk", "ru", "it"):
        assert analyze(text, language) == plain_analyze(text, language)


def check_html(html: str) -> None:
    simple = normalize.parse_simple(html)
    if simple is not None:
        assert simple == normalize.parse_html(html)
    assert normalize.html_to_paragraphs(html) == plain_paragraphs(html)


def check_summary_patterns(text: str) -> None:
    assert summary._strip_trailing_markers(text) == plain_strip_markers(text)
    assert summary._split_truncation(text) == plain_truncation(text)
    assert summary._is_boilerplate(text) == plain_is_boilerplate(text)


def check_scan(body: bytes, known: incremental.KnownItems | None = None) -> None:
    scan = incremental.scan_items(body)
    spans = plain_scan_spans(body)
    assert (scan and list(scan.spans)) == (spans if spans is None else list(spans))
    if scan is not None and spans is not None:
        assert scan.markup == plain_markup(body, spans)
    # Known items are taken whole, unread: what the scan finds is the same.
    assert incremental.scan_items(body, known) == scan


def known_items(body: bytes) -> incremental.KnownItems | None:
    """The items of body as a poll remembers them, when the scan reads it."""
    scan = incremental.scan_items(body)
    if scan is None:
        return None
    sizes = incremental.item_sizes(scan.spans)
    return incremental.KnownItems(b"", None, None, frozenset(scan.fingerprints), 0.0, sizes)


# ---- random input ----

_TEXT_PIECES = [
    "a", "Word", "NATO", "NATO's", "Trump’s", "it's", "l'Ukraine", "п'ять", "Мар’їнка", "ʼ",
    "`", "'", "S", "s", " ", "  ", "\n", "\n\n", "\t", ".", ",", "...", "…", "(AP)", "[…]",
    "(more)", "Read more →", "»", ")", "]", "_", "9", "x2", "İstanbul", "Straße", "ﬁ", "Ⅻ",
    "Київ", "ЁЛКА", "ё", "\u00a0", "\u200b", "\x07", "é", "e\u0301", "中文", "!", "?", "\"",
    "Sen.", "(Chris Radburn/PA)", "(19:27)", "Reuters", "AFP/Getty Images", "Photo: ", "By ",
    "See also", "Subscribe", "The post", " appeared first on ", "https://x.y", "[shortcode]",
]  # fmt: skip
_TAG_PIECES = [
    "<p>", "</p>", "<P>", "</P >", "<br>", "<br/>", "<br />", "</br>", "<b>",
    "</b>", "<div>", "</div>", "<li>", "<h2>", "</h2>", "<span>", "<script>", "</script>",
    "<style>", "<svg>", "</svg>", "<noscript>", "<x>", "</x>", "<p/>", "</p/>", "<a href='x'>",
    "</a>", "<!-- c -->", "<![CDATA[x]]>", "<!x>", "<?pi?>", "<", ">", "< p>", "<p", "&",
    "&amp;", "&amp;amp;", "&lt;p&gt;", "&lt;", "&#39;", "&#x41;", "&nbsp;", "&bogus;", "&copy",
]  # fmt: skip
_texts = st.lists(st.sampled_from(_TEXT_PIECES), max_size=30).map("".join)
_html = st.lists(
    st.one_of(st.sampled_from(_TAG_PIECES), st.sampled_from(_TEXT_PIECES)), max_size=20
).map("".join)
_ascii = st.text(st.characters(max_codepoint=127), max_size=60)


@settings(max_examples=400)
@given(st.one_of(_texts, _ascii))
def test_words_cases_and_analysis_are_the_plain_ones(text: str) -> None:
    check_text(text)


@settings(max_examples=1000)
@given(st.one_of(_html, _ascii))
@example("a<script><p></script>b")  # HTMLParser reads a script's content as raw text
@example("a<style>&lt;p&gt;<br></style>b")
@example("a<p/>b</p/>c<br />d< p>e</ p>f")
@example("x &amp;amp; &copy y &lt;b&gt;z&lt;/b&gt;")
def test_html_paragraphs_are_the_plain_ones(html: str) -> None:
    check_html(html)


@settings(max_examples=400)
@given(st.one_of(_texts, _ascii))
def test_the_summary_patterns_strip_what_they_stripped(text: str) -> None:
    check_summary_patterns(text)


_ITEM_PIECES = [
    b"<item>", b"</item>", b"<item/>", b"<entry>", b"</entry>", b"<a:item>", b"</a:item>",
    b"<item x='1'>", b'<item x="<">', b"<items>", b"<title>t</title>", b"<![CDATA[<item>]]>",
    b"<!-- <item> -->", b"<!--", b"<![CDATA[", b"<!DOCTYPE x>", b"text", b"<", b">", b"\n",
]  # fmt: skip


@settings(max_examples=400)
@given(st.lists(st.sampled_from(_ITEM_PIECES), max_size=25).map(b"".join))
def test_the_item_scan_finds_the_spans_and_markup_it_found(body: bytes) -> None:
    check_scan(b"<rss><channel>" + body + b"</channel></rss>")


# Whole items a poll may know, and find again anywhere: side by side, in another order,
# inside CDATA, comments or other items, after a cut-short CDATA, as other kinds.
_WHOLE_ITEMS = [
    b"<item><title>a</title></item>", b"<item>b<![CDATA[</item>]]></item>", b"<item/>",
    b"<rss:item>c</rss:item>", b"<item x='1'>d<!-- <item> --></item>", b"<entry>e</entry>",
    b"<item>f</item >", b"<item>", b"</item>", b"<item><item>g</item></item>",
]  # fmt: skip


@settings(max_examples=600)
@given(
    st.lists(st.sampled_from(_WHOLE_ITEMS[:5]), max_size=8).map(b"".join),
    st.lists(st.sampled_from(_WHOLE_ITEMS + _ITEM_PIECES), max_size=25).map(b"".join),
)
@example(b"<item>a</item><item>b</item>", b"<item>new</item><item>a</item><item>b</item>")
@example(b"<item>a</item><item>b</item>", b"<item>a</item><!-- <item>b</item> -->")
@example(b"<entry>a</entry>", b"<item>new</item><entry>a</entry>")
@example(b"<item>a</item>", b"<item><item>a</item></item>")
@example(b"<item>a</item>", b"<![CDATA[<item>a</item>")
def test_known_items_change_nothing_the_scan_finds(before: bytes, after: bytes) -> None:
    wrap = b"<rss><channel>%s</channel></rss>"
    check_scan(wrap % after, known_items(wrap % before))


def test_the_fast_paths_are_taken() -> None:
    """The checks above compare something: the fast paths run on the input they are for."""
    assert normalize.parse_simple("<p>a &amp; b</p><br/>c") == ["a & b", "c"]
    assert normalize.parse_simple('<p class="x">a</p>') is None
    assert normalize.tokenize("NATO's plan, 2_b") == ["nato", "plan", "2_b"]
    assert summary._strip_trailing_markers("Story. (Chris Radburn/PA)") == "Story."


# ---- every entry of the real corpus ----


def _corpus_files() -> list[Path]:
    return sorted(
        path
        for directory in (corpus.REAL, corpus.ILLFORMED)
        if directory.is_dir()
        for path in directory.iterdir()
    )


def _entries(path: Path) -> Iterator[tuple[str, str]]:
    data, headers = parser_input(path.read_bytes(), {})
    for entry in parse_input(data, headers, "https://example.com/feed").entries:
        for body in entry.bodies:
            yield entry.title, body


@pytest.mark.skipif(not _corpus_files(), reason="feed corpus not present")
@pytest.mark.parametrize("path", _corpus_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_corpus_entry_reads_as_the_plain_code_reads_it(path: Path) -> None:
    raw = path.read_bytes()
    check_scan(raw, known_items(raw))
    for title, body in _entries(path):
        check_html(body)
        paragraphs = normalize.html_to_paragraphs(body)
        for paragraph in paragraphs:
            check_summary_patterns(paragraph)
        check_summary_patterns(" ".join(paragraphs))
        check_text(title + "\n" + " ".join(paragraphs))
