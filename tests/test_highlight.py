"""The words that made a story match stand out in bold in its alert (title and summary)."""

import pytest

from bot.matching.highlight import MAX_MARKS, matched_spans
from bot.render.alerts import Alert, format_alert
from bot.render.html import visible_length
from tests.test_formatting import assert_fits, make_alert


def marked(text: str, queries: tuple[str, ...]) -> list[str]:
    return [text[start:end] for start, end in matched_spans(text, queries)]


@pytest.mark.parametrize(
    ("text", "queries", "expected"),
    [
        pytest.param("Ukraine talks resume", ("ukraine",), ["Ukraine"], id="word"),
        pytest.param("NATO's summit and Russia's reply", ("nato",), ["NATO's"], id="possessive"),
        pytest.param("Elections: candidates debate", ("election",), ["Elections"], id="plural"),
        pytest.param(
            "Vladimir Putin met Xi", ('"vladimir putin"',), ["Vladimir Putin"], id="phrase"
        ),
        pytest.param("Putin spoke; Vladimir left", ('"vladimir putin"',), [], id="phrase-apart"),
        pytest.param(
            "Cyberattack hits cyber firms",
            ("cyber*",),
            ["Cyberattack", "cyber"],
            id="prefix",
        ),
        pytest.param(
            "Ukraine and NATO meet, football later",
            ("ukraine -football", "nato"),
            ["Ukraine", "NATO"],
            id="excluded-never-marked",
        ),
        pytest.param("Gas or oil prices", ("gas OR oil",), ["Gas", "oil"], id="or-group"),
        pytest.param(
            "Ukraine NATO talks", ("ukraine", "nato"), ["Ukraine NATO"], id="neighbours-join"
        ),
        pytest.param(
            "Зеленський відвідав Україну вчора",
            ("Україна",),
            ["Україну"],
            id="ukrainian-inflection",
        ),
        pytest.param("Мы говорили с Россией", ("россия",), ["Россией"], id="russian"),
        pytest.param("Nothing relevant here", ("ukraine",), [], id="no-hit"),
        pytest.param("Ukraine", ("",), [], id="query-that-does-not-parse"),
        pytest.param("'Ukraine' says", ("ukraine",), ["Ukraine"], id="quotes-left-out"),
        pytest.param(
            "Putin met Trump in Helsinki",
            ("putin NEAR/3 trump",),
            ["Putin", "Trump"],
            id="near-marks-both-terms",
        ),
        pytest.param(
            "Ukraine talks", ("ukraine source:bbc",), ["Ukraine"], id="source-filter-marks-words"
        ),
        pytest.param("Ukraine talks", ("source:bbc",), [], id="source-alone-marks-nothing"),
    ],
)
def test_matched_spans(text: str, queries: tuple[str, ...], expected: list[str]) -> None:
    assert marked(text, queries) == expected


def test_a_text_the_analyser_splits_differently_is_not_marked() -> None:
    # "ﬁ" (a ligature) folds to "fi" within one word, which still lines up; a combining
    # accent inside a word joins two runs into one analysed word: nothing is marked then,
    # rather than the wrong word.
    assert marked("ﬁnance news", ("finance",)) == ["ﬁnance"]
    assert marked("a\u0301b Ukraine", ("ukraine",)) == []
    assert marked("ab Ukraine", ("ukraine",)) == ["Ukraine"]


def test_marks_are_capped() -> None:
    text = " , ".join(["Ukraine"] * 60)
    assert len(matched_spans(text, ("ukraine",))) == MAX_MARKS


def test_alert_marks_matched_words_in_title_and_summary_not_the_whole_title() -> None:
    alert: Alert = make_alert(
        title="NATO & Ukraine <talks>",
        summary="Ministers from NATO met; Ukraine's envoy spoke.",
        matched=("Ukraine", "NATO"),
    )
    html = format_alert(alert)
    title_line, *_ = html.splitlines()
    assert title_line == (
        '<a href="https://example.com/a?x=1&amp;y=2"><b>NATO</b> &amp; <b>Ukraine</b>'
        " &lt;talks&gt;</a>"
    )
    assert "Ministers from <b>NATO</b> met; <b>Ukraine's</b> envoy spoke." in html
    assert html.endswith("Matched: Ukraine, NATO")
    assert_fits(html)


def test_marks_change_nothing_else_and_survive_a_cut_summary() -> None:
    summary = "Ukraine, " * 2_000
    html = format_alert(make_alert(summary=summary, matched=("Ukraine",)))
    assert_fits(html)
    assert html.count("<b>") == MAX_MARKS
    # The same alert for a query that marks nothing: identical once the marks are removed.
    unmarked = format_alert(make_alert(summary=summary, matched=("Ukrainz",)))
    assert "<b>" not in unmarked
    assert html.replace("<b>", "").replace("</b>", "") == unmarked.replace("Ukrainz", "Ukraine")
    assert visible_length(html) == visible_length(unmarked)
