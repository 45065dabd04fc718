"""One chat's command flood delays nobody else, and is answered within Telegram's limits.

The Bot API fake enforces Telegram's flood limits (a chat: a burst of 3, then one message a
second; 429 with retry_after beyond). Chat A sends 100 commands at once, then chat B sends
/start: B's welcome must come while A's flood is still being worked through, and A must get
no more than Telegram lets the bot write to it: the burst (and one more, paced), then one notice.
"""

from pathlib import Path

from handlers.throttle import notice
from tests.e2e import running_bot

FLOODER = 2001
OTHER = 2002
FLOOD = 100
TELEGRAM_BURST = 3
# The burst, and perhaps one more (arrived as the burst was answered), paced.
ANSWERED = TELEGRAM_BURST + 1
WAIT = 30.0  # a safety net: every wait below ends on an event


def _send_order(requests: list[tuple[str, dict[str, object]]]) -> list[object]:
    """The chat of each sendMessage the bot made (accepted or refused), in arrival order."""
    return [params.get("chat_id") for name, params in requests if name == "sendMessage"]


async def test_another_chats_reply_comes_while_one_chat_floods(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        bot.fake.enforce_limits()  # Telegram's: 30/s overall, 3 then 1/s per chat
        for _ in range(FLOOD):
            bot.fake.user_sends(FLOODER, "/help", first_name="Flo")
        bot.fake.user_sends(OTHER, "/start", first_name="Bob")

        [welcome] = await bot.fake.wait_for_sent(OTHER, 1, timeout=WAIT)
        assert "Hello, Bob" in welcome.plain_text
        order = _send_order(bot.fake.requests)
        before_bob = order[: order.index(OTHER)]
        assert before_bob.count(FLOODER) <= ANSWERED + 1, (
            f"Bob waited behind {before_bob.count(FLOODER)} messages to the flooding chat"
        )

        # The flooder: answers within Telegram's allowance, then one notice, sent when allowed.
        await bot.fake.wait_until(
            lambda: any(m.plain_text == notice() for m in bot.fake.sent(FLOODER)), timeout=WAIT
        )
        texts = [m.plain_text for m in bot.fake.sent(FLOODER)]
        answers = texts[: texts.index(notice())]
        assert TELEGRAM_BURST <= len(answers) <= ANSWERED
        assert all("/subscribe" in text for text in answers)
        assert texts.count(notice()) == 1
        assert bot.fake.rate_limited_count == 0, "the bot wrote faster than Telegram allows"
