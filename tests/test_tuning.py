"""Tuning on plain data: which stories a mute or a hidden source holds back, and what the
alert's buttons turn into (callback data carries ids only, and fits)."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.delivery.fanout import MatchLog, claim_planner, is_muted, pending_stories, unmuted
from bot.i18n import use_locale
from bot.render.alerts import alert_keyboard
from bot.render.callbacks import CALLBACK_DATA_LIMIT, TUNE, Tune, TuneAction
from bot.render.message import Keyboard
from bot.render.tuning import (
    LABEL_LIMIT,
    MUTE_DURATIONS,
    alert_subscriptions,
    format_until,
    muted_keyboard,
    query_chooser,
    stopped_keyboard,
    tuning_list,
)
from bot.storage import (
    ChatSubscription,
    ChatWork,
    HiddenFeed,
    MutedSubscription,
    StoryMatch,
    Subscription,
)

NOW = 1_000_000.0
BBC, RT = 7, 8


def _log(*matches: tuple[int, int, tuple[str, ...], int]) -> MatchLog:
    log = MatchLog()
    log.add(StoryMatch(m, story, queries, NOW, feed) for m, story, queries, feed in matches)
    return log


def _sub(sub_id: int, query: str, muted_until: float | None = None) -> ChatSubscription:
    return ChatSubscription(sub_id, query, query.title(), None, 0, muted_until)


@pytest.mark.parametrize(
    ("muted_until", "muted"),
    [(None, False), (NOW + 1, True), (NOW, False), (NOW - 1, False)],
    ids=["never muted", "until later", "ends now", "ended"],
)
def test_a_mute_holds_until_its_end_and_not_after(muted_until: float | None, muted: bool) -> None:
    assert is_muted(_sub(1, "ukraine", muted_until), NOW) is muted


def test_muted_subscriptions_are_left_out_of_a_claim() -> None:
    subs = [_sub(1, "ukraine", NOW + 60), _sub(2, "nato")]
    assert [s.id for s in unmuted(subs, NOW)] == [2]
    assert [s.id for s in unmuted(subs, NOW + 60)] == [1, 2]


def test_a_story_another_unmuted_query_matched_is_sent_naming_only_that_query() -> None:
    log = _log((1, 10, ("ukraine",), BBC), (2, 11, ("ukraine", "nato"), BBC))
    subs = unmuted([_sub(1, "ukraine", NOW + 60), _sub(2, "nato")], NOW)
    assert [(p.story_id, p.matched) for p in pending_stories(log, subs, 0)] == [(11, ("Nato",))]


def test_a_hidden_feeds_stories_are_left_out() -> None:
    log = _log((1, 10, ("ukraine",), BBC), (2, 11, ("ukraine",), RT), (3, 12, ("ukraine",), BBC))
    subs = [_sub(1, "ukraine")]
    assert [p.story_id for p in pending_stories(log, subs, 0, hidden_feeds={RT})] == [10, 12]
    assert [p.story_id for p in pending_stories(log, subs, 0, hidden_feeds={BBC, RT})] == []


def test_what_a_mute_or_hidden_source_held_back_is_behind_the_cursor_after_the_claim() -> None:
    log = _log((1, 10, ("ukraine",), BBC), (2, 11, ("nato",), RT))
    plan = claim_planner(log, limit=3, now=NOW)
    work = ChatWork(
        1, 0, (_sub(1, "ukraine", NOW + 60), _sub(2, "nato")), 0, hidden_feeds=frozenset({RT})
    )
    decided = plan(work)
    assert (decided.rows, decided.through, decided.more) == ((), 2, False)
    # Once the mute ends and the source is shown again, only later stories come.
    later = claim_planner(log, limit=3, now=NOW + 120)
    assert later(ChatWork(1, decided.through, (_sub(1, "ukraine"), _sub(2, "nato")), 0)).rows == ()


def test_an_alerts_subscriptions_are_the_chats_queries_it_named() -> None:
    subs = [Subscription(4, 1, "nato", "NATO"), Subscription(2, 1, "ukraine", "Ukraine")]
    assert [s.id for s in alert_subscriptions(("NATO", "Ukraine"), subs)] == [4, 2]
    assert [s.id for s in alert_subscriptions(("Gone", "Ukraine"), subs)] == [2]
    assert alert_subscriptions(("Gone",), subs) == []


def test_a_mutes_end_is_rendered_in_one_place_in_the_chats_zone() -> None:
    moment = datetime(2026, 12, 8, 14, 0, tzinfo=UTC)
    with use_locale("en"):
        assert format_until(moment) == "Tue 8 Dec, 14:00 UTC"
        assert format_until(moment, ZoneInfo("Europe/Kyiv")) == "Tue 8 Dec, 16:00 EET"
    with use_locale("uk"):
        assert format_until(moment) == "вт, 8 груд., 14:00 UTC"


def _data(keyboard: Keyboard) -> list[Tune | None]:
    return [TUNE.decode(b.callback_data) for row in keyboard for b in row]


def test_every_tuning_button_names_ids_only_and_fits() -> None:
    longest = int("9" * 18)
    subs = [Subscription(longest, 1, "q" * 500, "Q" * 500)]
    moment = datetime(2026, 12, 8, 14, 0, tzinfo=UTC)
    keyboards = [
        alert_keyboard(longest),
        query_chooser(longest, subs, TuneAction.MUTE_PICK),
        muted_keyboard(longest, longest, "Q" * 500, moment),
        stopped_keyboard(longest, "Q" * 500, longest, longest),
    ]
    for keyboard in keyboards:
        for row in keyboard:
            for button in row:
                assert button.callback_data is not None
                assert len(button.callback_data.encode()) <= CALLBACK_DATA_LIMIT
                assert "Q" not in button.callback_data and "q" not in button.callback_data
                assert "Q" * (LABEL_LIMIT + 1) not in button.label  # a long query is cut


def test_a_mute_confirmation_says_until_when_and_offers_undo() -> None:
    moment = datetime(2026, 12, 8, 14, 0, tzinfo=UTC)
    with use_locale("en"):
        keyboard = muted_keyboard(5, 3, "Ukraine", moment)
    assert [b.label for row in keyboard for b in row] == [
        "🔕 Muted “Ukraine” until Tue 8 Dec, 14:00 UTC",
        "↩ Undo",
    ]
    assert _data(keyboard) == [Tune(TuneAction.BACK, 5), Tune(TuneAction.UNMUTE, 5, 3)]
    assert MUTE_DURATIONS == (8 * 3600, 24 * 3600, 7 * 24 * 3600)


def test_list_shows_mutes_with_their_end_and_hidden_sources_with_buttons() -> None:
    until = datetime(2026, 12, 8, 14, 0, tzinfo=UTC).timestamp()
    muted = [MutedSubscription(Subscription(3, 1, "ukraine", "Ukraine <3"), until)]
    hidden = [HiddenFeed(7, "", "https://rt.example/feed")]
    with use_locale("en"):
        message = tuning_list("base", muted, hidden)
    assert message.text == (
        "base\n\n<b>Muted</b>\n• Ukraine &lt;3: back Tue 8 Dec, 14:00 UTC"
        "\n\n<b>Hidden sources</b>\n• rt.example"
    )
    assert [b.callback_data for row in message.keyboard for b in row] == [
        "unmute:3",
        "showsrc:7",
    ]
