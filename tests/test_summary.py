"""Tests of feed HTML to paragraphs and of boilerplate-free, sentence-aware summaries."""

from pathlib import Path

import feedparser
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.text.normalize import html_to_paragraphs
from bot.text.summary import ELLIPSIS, summarize
from tests import corpus

CORPUS = corpus.FEEDS
REAL_FEEDS = sorted((CORPUS / "real").glob("*")) if (CORPUS / "real").is_dir() else []
ILLFORMED_FEEDS = (
    sorted((CORPUS / "illformed").glob("*")) if (CORPUS / "illformed").is_dir() else []
)


def _case(case_id: str, *values: object) -> object:
    """Return one named row of a parametrized table."""
    return pytest.param(*values, id=case_id)


# ---------------------------------------------------------------------------------------------
# html_to_paragraphs

HTML_CASES = [
    _case("plain_text", "Just text.", ["Just text."]),
    _case("paragraphs", "<p>One.</p><p>Two.</p>", ["One.", "Two."]),
    _case(
        "br_breaks", "Line one<br>Line two<br/>Line three", ["Line one", "Line two", "Line three"]
    ),
    _case("list_items", "<ul><li>First</li><li>Second</li></ul>", ["First", "Second"]),
    _case("headings", "<h1>Head</h1>Body<h6>Small</h6>", ["Head", "Body", "Small"]),
    _case(
        "blockquote", "Before<blockquote>Quoted</blockquote>After", ["Before", "Quoted", "After"]
    ),
    _case("table_rows", "<table><tr><td>A</td></tr><tr><td>B</td></tr></table>", ["A", "B"]),
    _case(
        "figure_and_caption",
        "<figure><img src='x.jpg'><figcaption>Caption</figcaption></figure>Text",
        ["Caption", "Text"],
    ),
    _case("section_article_hr", "<section>A</section><article>B<hr>C</article>", ["A", "B", "C"]),
    _case("nested_divs", "<div><div>Inner</div>Outer</div>", ["Inner", "Outer"]),
    _case("inline_tags_join", "<p>Hel<b>lo</b> <a href='/x'>wor</a>ld</p>", ["Hello world"]),
    _case("script_dropped", "A<script>var s = '<p>x</p>';</script>B", ["AB"]),
    _case("style_dropped", "<style>p { color: red }</style><p>Text</p>", ["Text"]),
    _case("noscript_dropped", "<noscript><img src='t.gif'>Enable JS</noscript>Text", ["Text"]),
    _case("template_dropped", "<template><p>Hidden</p></template>Shown", ["Shown"]),
    _case("svg_dropped", "<svg><text>Label</text></svg>Shown", ["Shown"]),
    _case("comment_dropped", "A<!-- a comment -->B", ["AB"]),
    _case("named_entities", "Peru&rsquo;s Jos&eacute; Jer&iacute;", ["Peru’s José Jerí"]),
    _case("numeric_entities", "it&#39;s &#8220;quoted&#x201D;", ["it's “quoted”"]),
    _case("entities_in_plain_text", "Tom &amp; Jerry &lt;3", ["Tom & Jerry <3"]),
    _case("double_encoded_amp", "AT&amp;amp;T", ["AT&T"]),
    _case("double_encoded_quot", "&amp;quot;Hi&amp;quot;", ['"Hi"']),
    _case("double_encoded_numeric", "it&amp;#39;s", ["it's"]),
    _case("double_encoded_named", "Jos&amp;eacute;", ["José"]),
    _case("unknown_reference_kept", "&amp;bogus; stays", ["&bogus; stays"]),
    _case("bare_ampersand", "AT&T and R&D", ["AT&T and R&D"]),
    _case("escaped_markup", "&lt;p&gt;One&lt;/p&gt;&lt;p&gt;Two&lt;/p&gt;", ["One", "Two"]),
    _case("double_escaped_markup", "&amp;lt;b&amp;gt;Bold&amp;lt;/b&amp;gt; text", ["Bold text"]),
    _case("nbsp_collapsed", "a&nbsp;&nbsp;b\u00a0c", ["a b c"]),
    _case("whitespace_collapsed", "  many \t spaces\n here  ", ["many spaces here"]),
    _case(
        "zero_width_removed", "Bre\u200bxit\ufeff and soft\u00adhyphen", ["Brexit and softhyphen"]
    ),
    _case("control_characters_removed", "bell\x07 and nul\x00", ["bell and nul"]),
    _case(
        "blank_line_splits_plain_text",
        "First para.\n\n  Second para.",
        ["First para.", "Second para."],
    ),
    _case("single_newline_joins", "Hard\nwrapped line", ["Hard wrapped line"]),
    _case("empty_paragraphs_removed", "<p></p><p> &nbsp; </p><br><br>Text", ["Text"]),
    _case("unclosed_tags", "<p>One<p>Two<div>Three", ["One", "Two", "Three"]),
    _case("stray_less_than", "5 < 6 and 7 > 3", ["5 < 6 and 7 > 3"]),
    _case("unterminated_tag_at_end", 'Text <a href="http://exa', ["Text"]),
    _case("unbalanced_quote_in_tag", "a <a b='c>d</a>e", ["a de"]),
    _case("unknown_marked_section", "Text <![foo[ x ]]> more", ["Text more"]),
    _case("cdata_section", "<![CDATA[Literal text]]>", ["Literal text"]),
    _case("stray_end_tag", "</p>Text</div>", ["Text"]),
    _case("unclosed_dropped_element", "Text<script>never closed", ["Text"]),
    _case("cyrillic", "<p>Полиция задержала бизнесмена.</p>", ["Полиция задержала бизнесмена."]),
    _case("cjk", "<p>中国足协将与体育总局脱钩。</p>", ["中国足协将与体育总局脱钩。"]),
    _case("emoji_sequences_kept", "Family 👨\u200d👩\u200d👧 🇺🇦", ["Family 👨\u200d👩\u200d👧 🇺🇦"]),
    _case("empty", "", []),
    _case("whitespace_only", " \n\t ", []),
]


@pytest.mark.parametrize(("html", "expected"), HTML_CASES)
def test_html_to_paragraphs(html: str, expected: list[str]) -> None:
    assert html_to_paragraphs(html) == expected


@given(st.text())
def test_html_to_paragraphs_never_raises_and_keeps_paragraphs_clean(html: str) -> None:
    for paragraph in html_to_paragraphs(html):
        assert paragraph
        assert paragraph == paragraph.strip()
        assert "  " not in paragraph


MARKUP_PIECES = ["<", "<!", "<![", "]]>", "<!--", "-->", "</", ">", "&", "&amp;", "&lt;", "'", '"']


@given(st.lists(st.sampled_from(MARKUP_PIECES) | st.text(max_size=5), max_size=30))
def test_html_to_paragraphs_never_raises_on_broken_markup(pieces: list[str]) -> None:
    html_to_paragraphs("".join(pieces))


# ---------------------------------------------------------------------------------------------
# summarize: boilerplate

STORY = "The council approved the budget on Monday after a long debate."

BOILERPLATE_CASES = [
    _case("read_more_upper", "READ MORE: Council in crisis"),
    _case("read_more_arrow", "Read more »"),
    _case("read_more_slashdot", "Read more of this story at Slashdot."),
    _case("see_also", "See also: Budget explained"),
    _case("more_from", "More from TIME"),
    _case("related", "Related: Fact check: the budget analysed"),
    _case("related_articles", "Related articles: Budget"),
    _case("continue_reading_guardian", "Continue reading..."),
    _case("continue_reading_main_story", "Continue reading the main story"),
    _case("seguir_leyendo", "Seguir leyendo"),
    _case("post_appeared_first", "The post Budget passes appeared first on City News."),
    _case("originally_appeared", "This article originally appeared on Example Weekly."),
    _case("published_in_print", "Published in Dawn, February 17th, 2026"),
    _case("lone_reuters", "Reuters"),
    _case("lone_ap", "AP"),
    _case("agency_in_brackets", "(AFP)"),
    _case("getty_images", "Getty Images"),
    _case("agency_pair", "AFP/Getty Images"),
    _case("photographer_and_agency", "Chris Radburn/PA"),
    _case("photo_colon_agency", "Photo: AP"),
    _case("photo_by_getty", "(Photo by Jane Doe/Getty Images)"),
    _case("image_caption", "Image: The council chamber on Monday"),
    _case("image_credit_npr", "(Image credit: Kevin Frayer)"),
    _case("photograph_credit", "Photograph: Foto24/Getty Images"),
    _case("share_article", "Share this article"),
    _case("share_on", "Share on Facebook"),
    _case("sign_up_newsletter", "Sign up for our newsletter"),
    _case("sign_up_guardian", "Sign up to receive an email with the top stories every morning"),
    _case("subscribe", "Subscribe to City News for more"),
    _case("follow_twitter", "Follow us on Twitter"),
    _case("follow_facebook", "Follow us on Facebook and Instagram"),
    _case("follow_live_blog", "Follow our live blog for the latest updates"),
    _case("get_our_app", "Get our free news app, morning email briefing or daily news podcast"),
    _case("click_here", "Click here to watch the debate"),
    _case("advertisement", "Advertisement"),
    _case("wordpress_shortcode", "[time-brightcove not-tgx=”true”]"),
    _case("video_shortcode", '[video id=XbUA4awZ autostart="viewable"]'),
    _case("bare_url", "https://www.example.com/news/1973802"),
    _case("byline_by", "By Matt Spetalnick, Olivia Le Poidevin and Parisa Hafezi"),
    _case("byline_von", "Von Olivia Gerstenberger und Chaled Nahar"),
    _case("byline_surname_first", "Ottersbach, Niklas"),
    _case("ellipsis_marker", "[…]"),
    _case("dots_marker", "[...]"),
]


@pytest.mark.parametrize("boilerplate", BOILERPLATE_CASES)
def test_boilerplate_paragraph_is_removed(boilerplate: str) -> None:
    html = f"<p>{STORY}</p><p>{boilerplate}</p>"
    assert summarize("Budget passes", [html]) == STORY


@pytest.mark.parametrize("boilerplate", BOILERPLATE_CASES)
def test_only_boilerplate_gives_none(boilerplate: str) -> None:
    assert summarize("Budget passes", [f"<p>{boilerplate}</p>"]) is None


TRAILING_MARKER_CASES = [
    _case("ellipsis_in_brackets", f"{STORY} […]"),
    _case("dots_in_brackets", f"{STORY} [...]"),
    _case("mehr_tagesschau", f"{STORY}[mehr]"),
    _case("continue_reading_arrow", f"{STORY} Continue reading →"),
    _case("read_more_ellipsis", f"{STORY} Read more…"),
    _case("photo_credit_in_brackets", f"{STORY} (Chris Radburn/PA)"),
    _case("tag_list_after_last_sentence", f"{STORY} (Budget, Council)"),
    _case("guardian_link_after_paragraph", f"<p>{STORY}</p> <a href='/x'>Continue reading...</a>"),
]


@pytest.mark.parametrize("body", TRAILING_MARKER_CASES)
def test_trailing_marker_is_removed(body: str) -> None:
    assert summarize("Budget passes", [body]) == STORY


SUMMARY_CASES = [
    _case(
        "repeated_paragraph_kept_once",
        "Title",
        [f"<p>{STORY}</p><p>{STORY}</p>"],
        STORY,
    ),
    _case(
        "title_repeated_as_first_paragraph",
        "Budget passes after long debate",
        [f"<p>BUDGET PASSES, after long debate!</p><p>{STORY}</p>"],
        STORY,
    ),
    _case(
        "title_repeated_later_is_kept",
        "Budget passes",
        [f"<p>{STORY}</p><p>Budget passes</p>"],
        f"{STORY} Budget passes",
    ),
    _case("summary_equal_to_title", "Budget passes", ["Budget passes"], None),
    _case(
        "longer_body_wins",
        "Title",
        ["Short teaser.", f"<p>{STORY}</p><p>Members walked out.</p>"],
        f"{STORY} Members walked out.",
    ),
    _case(
        "body_longer_only_through_boilerplate_loses",
        "Title",
        [f"<p>Short teaser.</p><p>{'Read more: ' + 'x' * 100}</p>", "A somewhat longer teaser."],
        "A somewhat longer teaser.",
    ),
    _case(
        "prompt_like_long_paragraph_is_story",
        "Title",
        ["Read more books, the minister told pupils, " + "and the council agreed " * 10],
        "Read more books, the minister told pupils, " + ("and the council agreed " * 10).strip(),
    ),
    _case(
        "sentence_opening_with_agency_is_story",
        "Title",
        ["Reuters was not immediately able to verify the account."],
        "Reuters was not immediately able to verify the account.",
    ),
    _case(
        "sentence_opening_like_a_prompt_is_story",
        "Title",
        ["Like us, the French struggled with the budget this year."],
        "Like us, the French struggled with the budget this year.",
    ),
    _case(
        "entities_decoded",
        "Title",
        ["Peru&rsquo;s Jos&eacute; Jer&iacute; &amp; co"],
        "Peru’s José Jerí & co",
    ),
    _case(
        "cyrillic",
        "Фридман задержан",
        ["<p>Полиция задержала в Лондоне бизнесмена.</p><p>Читать далее</p>"],
        "Полиция задержала в Лондоне бизнесмена.",
    ),
    _case("cjk", "标题", ["<p>中国足协将与体育总局脱钩。</p>"], "中国足协将与体育总局脱钩。"),
    _case("emoji", "Title", ["Fans celebrated 🎉🇺🇦 all night."], "Fans celebrated 🎉🇺🇦 all night."),
    _case("no_bodies", "Title", [], None),
    _case("empty_body", "Title", [""], None),
    _case("whitespace_bodies", "Title", [" \n ", "<p>&nbsp;</p>"], None),
    _case("markup_without_text", "Title", ["<img src='x.jpg'><br><script>x()</script>"], None),
]


@pytest.mark.parametrize(("title", "bodies", "expected"), SUMMARY_CASES)
def test_summarize(title: str, bodies: list[str], expected: str | None) -> None:
    assert summarize(title, bodies, limit=400) == expected


# ---------------------------------------------------------------------------------------------
# summarize: cutting to the limit

FIRST = "The council approved the budget on Monday after a long debate."  # 62 characters
SECOND = "Opposition members walked out in protest."  # 41 characters
BOTH = f"{FIRST} {SECOND}"  # 104 characters

CUT_CASES = [
    _case("fits_unchanged_without_ellipsis", BOTH, 300, BOTH),
    _case("exactly_at_limit", BOTH, 104, BOTH),
    _case("one_past_limit_cuts_at_sentence", BOTH, 103, FIRST),
    _case("sentence_end_at_limit", BOTH, 62, FIRST),
    _case(
        "short_sentence_falls_back_to_word_cut",
        "Short one. Then a very long sentence that goes on and on without any stop at all",
        60,
        "Short one. Then a very long sentence that goes on and on…",
    ),
    _case(
        "word_cut_drops_dangling_comma",
        "Alpha beta gamma delta, epsilon zeta eta theta iota kappa lambda",
        25,
        "Alpha beta gamma delta…",
    ),
    _case(
        "closing_quote_belongs_to_sentence",
        'He said: "We will win the vote." Then he left the hall quietly and did not return.',
        45,
        'He said: "We will win the vote."',
    ),
    _case(
        "abbreviations_are_not_sentence_ends",
        "Sen. Bob Menendez met officials in the U.S. capital. He said nothing more about it.",
        60,
        "Sen. Bob Menendez met officials in the U.S. capital.",
    ),
    _case(
        "question_mark_ends_sentence",
        "Who won the vote? Nobody knows yet, he said.",
        30,
        "Who won the vote?",
    ),
    _case(
        "cyrillic_sentence",
        "Полиция задержала в Лондоне бизнесмена. Об этом стало известно от источника.",
        60,
        "Полиция задержала в Лондоне бизнесмена.",
    ),
    _case(
        "cjk_full_stop_without_space",
        "中国足协将与体育总局脱钩，不设行政级别。并以举办世界杯为目标，这是改革方案的核心内容之一。",
        30,
        "中国足协将与体育总局脱钩，不设行政级别。",
    ),
    _case(
        "cjk_without_stops_cut_mid_text",
        "中国足协将与体育总局脱钩不设行政级别并以举办世界杯为目标",
        20,
        "中国足协将与体育总局脱钩不设行政级别并…",
    ),
    _case("flag_not_split", "🇺🇦🇺🇦🇺🇦🇺🇦", 4, "🇺🇦…"),
    _case(
        "emoji_kept_in_word_cut",
        "Fans celebrated 🎉🇺🇦 all night long in the main square",
        30,
        "Fans celebrated 🎉🇺🇦 all night…",
    ),
    _case(
        "paragraph_end_is_a_cut_point",
        "<p>Standfirst without a full stop at its end</p><p>Then the story, which is long.</p>",
        60,
        "Standfirst without a full stop at its end",
    ),
    _case(
        "source_truncation_cut_at_sentence",
        "Hungary stunned Austria 2-0 in Bordeaux on Tuesday. Austria, dark horses, domina...",
        100,
        "Hungary stunned Austria 2-0 in Bordeaux on Tuesday.",
    ),
    _case(
        "source_truncation_drops_partial_word",
        "Pakistan is considering buying used jets after a plan fell thro...",
        300,
        "Pakistan is considering buying used jets after a plan fell…",
    ),
]


@pytest.mark.parametrize(("body", "limit", "expected"), CUT_CASES)
def test_cut_to_limit(body: str, limit: int, expected: str) -> None:
    summary = summarize("Unrelated title", [body], limit=limit)
    assert summary == expected
    assert len(summary) <= limit


def test_ellipsis_counts_in_the_limit() -> None:
    summary = summarize("Title", ["word " * 100], limit=50)
    assert summary is not None
    assert summary.endswith(ELLIPSIS)
    assert len(summary) <= 50


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="limit"):
        summarize("Title", [BOTH], limit=0)


# ---------------------------------------------------------------------------------------------
# summarize: properties

LIMITS = st.integers(min_value=1, max_value=400)


@given(st.text(), st.lists(st.text(), max_size=3), LIMITS)
def test_summary_is_none_or_fits(title: str, bodies: list[str], limit: int) -> None:
    summary = summarize(title, bodies, limit=limit)
    assert summary is None or 0 < len(summary) <= limit
    assert summary is None or summary == summary.strip()


TAG_NAMES = ["p", "a", "br", "img", "div", "span", "em", "script", "li", "h2"]
TAGS = [
    "<p>", "</p>", "<br>", "<br/>", '<a href="https://example.com/x?a=1&amp;b=2">', "</a>",
    "<img src='x.jpg' alt='A picture'>", '<div class="media">', "</div>", "<span>", "</span>",
    "<em>", "</em>", "<script>var p = '<p>';</script>", "<li>", "<h2 id='x'>", "</h2>",
    "&lt;p&gt;", "&lt;/p&gt;", "&amp;lt;div&amp;gt;", "&lt;br /&gt;",
]  # fmt: skip
WORDS = st.text(st.characters(exclude_characters="<>&"), min_size=1, max_size=12)


@given(st.lists(st.sampled_from(TAGS) | WORDS, max_size=40), LIMITS)
def test_summary_has_no_tags_from_the_input(pieces: list[str], limit: int) -> None:
    summary = summarize("Title", ["".join(pieces)], limit=limit)
    if summary is not None:
        lowered = summary.lower()
        for name in TAG_NAMES:
            assert f"<{name}" not in lowered
            assert f"</{name}" not in lowered


# ---------------------------------------------------------------------------------------------
# summarize: real feeds

LEFTOVER_MARKUP = ("<p", "<a ", "<br", "<img", "<div", "&amp;", "&nbsp;", "&#")


def _entry_summaries(path: Path) -> list[str | None]:
    parsed = feedparser.parse(path.read_bytes(), sanitize_html=False, resolve_relative_uris=False)
    summaries: list[str | None] = []
    for entry in parsed.entries:
        bodies = [part.get("value", "") for part in entry.get("content", [])]
        bodies.append(entry.get("summary", ""))
        summaries.append(summarize(entry.get("title", ""), bodies))
    return summaries


@pytest.mark.skipif(not REAL_FEEDS, reason="no real feed corpus in this checkout")
@pytest.mark.parametrize("path", REAL_FEEDS + ILLFORMED_FEEDS, ids=lambda path: path.name)
def test_corpus_summaries_are_clean_text(path: Path) -> None:
    for summary in _entry_summaries(path):
        if summary is None:
            continue
        assert 0 < len(summary) <= 300
        for leftover in LEFTOVER_MARKUP:
            assert leftover not in summary, (leftover, summary)
