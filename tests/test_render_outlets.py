"""An alert's "Also:" line: the other outlets, linked, in the chat's language, within limits."""

from datetime import UTC, datetime

import pytest

from bot.i18n import use_locale
from bot.render.alerts import Alert, format_alert
from bot.render.html import TELEGRAM_TEXT_LIMIT, visible_length
from bot.render.outlets import MAX_OUTLETS_SHOWN
from tests.test_formatting import assert_valid_telegram_html

OUTLETS = (("Reuters", "https://reuters.example/1"), ("BBC <News>", "https://bbc.example/2"))


def _alert(also: tuple[tuple[str, str | None], ...], summary: str = "Talks resume.") -> Alert:
    return Alert(
        title="Ukraine talks resume",
        link="https://ap.example/1",
        source="AP",
        published=datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
        summary=summary,
        matched=("Ukraine",),
        also=also,
    )


@pytest.mark.parametrize(
    ("locale", "label"), [("en", "Also: "), ("uk", "Також: "), ("ru", "Также: ")]
)
def test_the_line_names_each_outlet_as_a_link_in_the_chat_language(locale: str, label: str) -> None:
    with use_locale(locale):
        html = format_alert(_alert(OUTLETS))
    assert_valid_telegram_html(html)
    assert html.endswith(
        f'{label}<a href="https://reuters.example/1">Reuters</a>, '
        '<a href="https://bbc.example/2">BBC &lt;News&gt;</a>'
    )


def test_no_outlets_no_line() -> None:
    assert "Also" not in format_alert(_alert(()))


def test_an_outlet_without_a_name_is_its_host_and_a_bad_link_is_not_linked() -> None:
    html = format_alert(_alert((("", "https://www.dw.example/a"), ("Tass", "javascript:x"))))
    assert html.endswith('Also: <a href="https://www.dw.example/a">www.dw.example</a>, Tass')


def test_many_outlets_are_summarised() -> None:
    many = tuple((f"Outlet {n}", f"https://o{n}.example/") for n in range(MAX_OUTLETS_SHOWN + 3))
    with use_locale("uk"):
        html = format_alert(_alert(many))
    assert html.count("<a href=") == 1 + MAX_OUTLETS_SHOWN
    assert html.endswith(" і ще 3")


def test_the_alert_with_its_line_still_fits_telegram() -> None:
    long = tuple((name * 80, f"https://{n}.example/") for n, name in enumerate("abcdefg"))
    html = format_alert(_alert(long, summary="word " * 2000))
    assert_valid_telegram_html(html)
    assert visible_length(html) <= TELEGRAM_TEXT_LIMIT
    assert "Also: " in html
