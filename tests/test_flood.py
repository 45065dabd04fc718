"""The flood policy on plain values: answer a chat no faster than Telegram lets us write."""

import pytest

from bot.storage import ChatType
from bot.updates.flood import PRUNE_THRESHOLD, FloodGate, Verdict

CHAT = 7
GROUP = -100


def answer(
    gate: FloodGate, chat: int, now: float, chat_type: ChatType = ChatType.PRIVATE
) -> Verdict:
    """Admit one update; if answered, write its one reply at the same instant."""
    verdict = gate.admit(chat, now, chat_type).verdict
    if verdict is Verdict.ANSWER:
        gate.wrote(chat, now)
    return verdict


def test_a_flood_gets_telegrams_burst_then_one_notice_then_silence() -> None:
    gate = FloodGate()
    verdicts = [answer(gate, CHAT, 0.001 * n) for n in range(100)]
    # Telegram's burst of 3, and one more whose reply waits a second for the allowance.
    assert verdicts[:4] == [Verdict.ANSWER] * 4
    assert verdicts[4] is Verdict.NOTIFY
    assert verdicts[5:] == [Verdict.DROP] * 95


def test_the_notice_is_due_when_telegram_allows_one_more_message() -> None:
    gate = FloodGate()
    for _ in range(4):
        answer(gate, CHAT, 0.0)
    admission = gate.admit(CHAT, 0.25)
    assert admission.verdict is Verdict.NOTIFY
    assert admission.notice_at == pytest.approx(2.0)
    assert gate.ready_at(CHAT, 0.25) == pytest.approx(2.0), "one message over: 2 s to refill"


def test_replies_are_counted_when_written_not_when_admitted() -> None:
    gate = FloodGate()
    for _ in range(3):
        assert gate.admit(CHAT, 0.0).verdict is Verdict.ANSWER
        gate.wrote(CHAT, 0.5)  # Telegram accepted the reply later: the refill starts then
    assert gate.ready_at(CHAT, 1.4) == pytest.approx(1.5)


def test_alerts_written_to_the_chat_use_up_its_allowance_too() -> None:
    gate = FloodGate()
    for _ in range(4):
        gate.wrote(CHAT, 0.0)
    assert gate.admit(CHAT, 0.0).verdict is Verdict.NOTIFY


def test_a_chat_that_keeps_flooding_stays_silent_however_long_it_floods() -> None:
    gate = FloodGate()
    notice_at = None
    verdicts = []
    for n in range(600):  # two a second for five minutes
        now = n / 2
        if notice_at is not None and now >= notice_at:
            gate.wrote(CHAT, now)  # the notice went out
            gate.settle(CHAT)
            notice_at = None
        admission = gate.admit(CHAT, now)
        if admission.verdict is Verdict.ANSWER:
            gate.wrote(CHAT, now)
        elif admission.verdict is Verdict.NOTIFY:
            notice_at = admission.notice_at
        verdicts.append(admission.verdict)
    assert verdicts.count(Verdict.NOTIFY) == 1, "one notice per flood"
    after_notice = verdicts[verdicts.index(Verdict.NOTIFY) + 1 :]
    assert set(after_notice) == {Verdict.DROP}
    assert verdicts.count(Verdict.ANSWER) <= 3 + 5, "no more than Telegram allows meanwhile"


def test_updates_are_judged_as_of_their_arrival() -> None:
    gate = FloodGate()
    for _ in range(4):  # all arrived at 0; the fourth reply waited for the allowance
        assert gate.admit(CHAT, 0.0).verdict is Verdict.ANSWER
        gate.wrote(CHAT, max(0.0, gate.ready_at(CHAT, 0.0)))
    assert gate.admit(CHAT, 0.0).verdict is Verdict.NOTIFY


def test_a_person_asking_again_as_soon_as_answered_is_never_warned() -> None:
    gate = FloodGate()
    now = 0.0
    for _ in range(20):
        assert gate.admit(CHAT, now).verdict is Verdict.ANSWER
        now = max(now, gate.ready_at(CHAT, now))  # the reply waits for the allowance
        gate.wrote(CHAT, now)
        now += 0.05  # and the next question comes right after the answer


def test_after_a_quiet_second_the_chat_is_answered_again() -> None:
    gate = FloodGate()
    for n in range(10):
        answer(gate, CHAT, n * 0.01)
    notice_at = 1.0
    gate.wrote(CHAT, notice_at)
    gate.settle(CHAT)
    assert gate.admit(CHAT, notice_at + 0.5).verdict is Verdict.DROP
    assert gate.admit(CHAT, notice_at + 1.2).verdict is Verdict.DROP, "0.7 s was not a pause"
    assert answer(gate, CHAT, notice_at + 2.2) is Verdict.ANSWER
    # Slowed down: a new flood earns a new notice.
    assert answer(gate, CHAT, notice_at + 2.2) is Verdict.ANSWER, "patience again"
    assert answer(gate, CHAT, notice_at + 2.2) is Verdict.NOTIFY


def test_nothing_is_answered_before_the_notice_went_out() -> None:
    gate = FloodGate()
    for _ in range(5):
        answer(gate, CHAT, 0.0)
    # The notice is due at 2.0 but not written yet: its message holds the allowance.
    assert gate.admit(CHAT, 5.0).verdict is Verdict.DROP


def test_chats_do_not_share_an_allowance_and_groups_get_twenty_a_minute() -> None:
    gate = FloodGate()
    for _ in range(5):
        answer(gate, CHAT, 0.0)
    assert answer(gate, CHAT + 1, 0.0) is Verdict.ANSWER
    for _ in range(3):
        answer(gate, GROUP, 0.0, ChatType.GROUP)
    admission = gate.admit(GROUP, 0.0, ChatType.GROUP)
    assert admission.verdict is Verdict.NOTIFY, "a group's next message is 3 s away: too long"
    assert admission.notice_at == pytest.approx(3.0)


@pytest.mark.parametrize("chat_type", list(ChatType))
def test_a_chats_pace_follows_the_type_its_updates_name_never_the_sign_of_its_id(
    chat_type: ChatType,
) -> None:
    gate = FloodGate()
    for chat in (CHAT, GROUP):
        for _ in range(3):
            answer(gate, chat, 0.0, chat_type)
        expected = 3.0 if chat_type is not ChatType.PRIVATE else 1.0
        assert gate.ready_at(chat, 0.0) == pytest.approx(expected), (chat, chat_type)


def test_idle_chats_are_forgotten_when_many_are_known() -> None:
    gate = FloodGate()
    for chat in range(PRUNE_THRESHOLD):
        answer(gate, chat, 0.0)
    answer(gate, PRUNE_THRESHOLD, 10.0)
    assert len(gate) == 1
