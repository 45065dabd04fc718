"""Chats taking turns (ChatQueues) on a stopped clock: pure scheduling, no Telegram."""

from bot.delivery.pacing import ChatPacer, ChatQueues
from tests.clocks import StoppedClock


def _queues() -> tuple[ChatQueues, ChatPacer, StoppedClock]:
    clock = StoppedClock()
    pacer = ChatPacer()
    return ChatQueues(pacer, clock), pacer, clock


def test_chats_with_matches_take_turns_once_each_however_often_marked() -> None:
    queues, _, _ = _queues()
    queues.want({1: (), 2: ()})
    queues.want([2, 3])
    assert queues.wanting == 3
    picked = queues.pick_claims(10)
    assert sorted(picked) == [1, 2, 3]
    assert queues.wanting == 0
    assert queues.pick_claims(10) == []


def test_a_chat_served_goes_to_the_back_of_the_line() -> None:
    queues, _, _ = _queues()
    queues.want([1])
    queues.want([2])
    queues.want([3])
    [first] = queues.pick_claims(1)
    queues.release(first)
    queues.want([first])  # new matches for it meanwhile
    order = [first]
    while picked := queues.pick_claims(1):
        order += picked
        queues.release(picked[0])
    assert order == [1, 2, 3, 1]


def test_a_busy_chat_waits_for_its_send_and_then_gets_its_turn() -> None:
    queues, _, clock = _queues()
    queues.add(100, 7, "alert", clock())  # a queued row: its send goes first
    assert queues.pick(1) == {100: 7}
    queues.want([7])
    assert queues.pick_claims(5) == [], "busy with a send in flight"
    queues.release(7)
    assert queues.pick_claims(5) == [7]


def test_a_chat_held_by_its_pacing_is_picked_when_the_clock_allows() -> None:
    queues, pacer, clock = _queues()
    pacer.hold(9, clock() + 30, clock())  # Telegram asked for 30 s
    queues.want([9])
    assert queues.pick_claims(5) == []
    assert queues.next_ready() == clock() + 30
    clock.advance(30)
    assert queues.pick_claims(5) == [9]


def test_a_blocked_chat_loses_its_turn_and_a_migrated_one_keeps_it() -> None:
    queues, _, _ = _queues()
    queues.want([1, 2])
    queues.forget_chat(1)
    queues.move_chat(2, -1002)
    assert queues.pick_claims(5) == [-1002]


def test_held_digest_lines_wait_for_their_release_without_holding_the_chat() -> None:
    queues, _, clock = _queues()
    release = clock() + 3600
    queues.add(200, 7, "digest", release)
    queues.add(201, 7, "digest", release)
    assert queues.chats_with_rows == 0, "held lines are not queued rows yet"
    assert queues.next_ready() == release
    queues.add(300, 7, "broadcast", clock())
    assert queues.pick(5) == {300: 7}, "the chat itself is not held"
    queues.release(7)
    queues.want([7])
    assert queues.pick_claims(5) == [7], "its new matches are claimed as usual"
    queues.release(7)
    clock.advance(3599)
    assert queues.pick(5) == {}
    clock.advance(1)
    assert queues.pick(5) == {200: 7}


def test_held_lines_are_re_timed_when_the_chats_schedule_changes() -> None:
    queues, _, clock = _queues()
    queues.add(200, 7, "digest", clock() + 3600)
    queues.add(210, 8, "digest", clock() + 3600)
    queues.retime(7, clock())
    assert queues.pick(5) == {200: 7}, "released now"
    assert queues.next_ready() == clock() + 3600, "another chat's lines keep their time"
