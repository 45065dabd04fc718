"""Groups through the real bot and the Bot API fake: who may change a group's alerts, what
the bot ignores there, and its own membership (added, removed, restricted, re-added)."""

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.render.groups import admins_only, group_introduction
from bot.storage import ChatStatus
from bot.storage.sqlite import SqliteStorage
from tests.botapi_fake import SentMessage
from tests.e2e import POLL_TIMEOUT, BotHarness, Feeds, story, watching_bot

ADMIN = 4001
MEMBER = 4002
GROUP = -1_000_000_004_001
SMALL_GROUP = -4_002


async def say(
    bot: BotHarness, user_id: int, text: str, chat_id: int = GROUP, **kwargs: object
) -> SentMessage:
    """Write in the group as the user and return the bot's next message there."""
    already = len(bot.fake.sent(chat_id))
    chat_type = "group" if chat_id == SMALL_GROUP else "supergroup"
    bot.fake.user_sends(user_id, text, chat_id=chat_id, chat_type=chat_type, **kwargs)  # type: ignore[arg-type]
    return (await bot.fake.wait_for_sent(chat_id, count=already + 1))[already]


def subscriptions(bot: BotHarness, chat_id: int = GROUP) -> list[str]:
    with sqlite3.connect(bot.database) as db:
        rows = db.execute(
            "SELECT display FROM subscriptions WHERE chat_id = ? ORDER BY id", (chat_id,)
        )
        return [str(row[0]) for row in rows]


def chat_status(bot: BotHarness, chat_id: int = GROUP) -> str:
    with sqlite3.connect(bot.database) as db:
        [(status,)] = db.execute("SELECT status FROM chats WHERE id = ?", (chat_id,))
        return str(status)


async def test_an_admin_changes_the_groups_alerts_and_a_member_is_politely_refused(
    tmp_path: Path, feeds: Feeds
) -> None:
    # Telegram lets the bot write about 20 messages a minute into a group (a burst of 3, the
    # bot's flood gate mirrors it), so each group below gets at most 3 answers.
    refusals, reads, tuned = GROUP - 1, GROUP - 2, GROUP - 3
    async with watching_bot(tmp_path, feeds, "/a.xml") as bot:
        for chat_id in (GROUP, refusals, reads, tuned):
            bot.fake.add_chat(chat_id, "supergroup", title="Newsroom")
            bot.fake.make_admin(chat_id, ADMIN)
            bot.fake.set_member(chat_id, MEMBER, "member")

        added = await say(bot, ADMIN, "/subscribe Ukraine")
        assert "Ukraine" in added.plain_text
        refused = await say(bot, MEMBER, "/subscribe NATO")
        assert refused.plain_text == admins_only()
        for command in ("/unsubscribe Ukraine", "/pause", "/timezone Kyiv"):
            refused = await say(bot, MEMBER, command, chat_id=refusals)
            assert refused.plain_text == admins_only(), command
        listed = await say(bot, MEMBER, "/list")
        assert "1. Ukraine" in listed.plain_text
        tried = await say(bot, MEMBER, "/try Ukraine", chat_id=reads)
        assert "Ukraine" in tried.plain_text
        helped = await say(bot, MEMBER, "/help", chat_id=reads)
        assert "/subscribe" in helped.plain_text
        assert subscriptions(bot) == ["Ukraine"]
        assert chat_status(bot) == ChatStatus.ACTIVE

        await say(bot, ADMIN, "/subscribe Ukraine", chat_id=tuned)
        feeds.publish("/a.xml", story(2, "Ukraine in the newsroom"))
        [*_, alert] = await bot.fake.wait_for_sent(tuned, count=2, timeout=POLL_TIMEOUT)
        assert alert.plain_text.startswith("Ukraine in the newsroom")
        mute = next(b for b in alert.buttons if str(b["text"]).startswith("🔕"))
        answers = len(bot.fake.callback_answers)
        bot.fake.user_presses(MEMBER, alert.message_id, str(mute["callback_data"]), chat_id=tuned)
        await bot.fake.wait_until(lambda: len(bot.fake.callback_answers) > answers)
        assert bot.fake.callback_answers[answers]["text"] == admins_only()
        assert bot.fake.sent(tuned)[-1].reply_markup == alert.reply_markup, "nothing changed"
        bot.fake.user_presses(ADMIN, alert.message_id, str(mute["callback_data"]), chat_id=tuned)
        await bot.fake.wait_until(
            lambda: bot.fake.sent(tuned)[-1].reply_markup != alert.reply_markup
        )
    # One question per person and group: answers are cached.
    assert bot.fake.count_requests("getChatMember") == 5


async def test_an_anonymous_admin_counts_as_an_admin(tmp_path: Path, feeds: Feeds) -> None:
    async with watching_bot(tmp_path, feeds, "/a.xml") as bot:
        bot.fake.add_chat(GROUP, "supergroup")
        reply = await say(bot, ADMIN, "/subscribe Ukraine", anonymous=True)
        assert "Ukraine" in reply.plain_text
        assert subscriptions(bot) == ["Ukraine"]
        assert bot.fake.count_requests("getChatMember") == 0


async def test_settings_are_the_groups_own_and_its_admins(tmp_path: Path, feeds: Feeds) -> None:
    async with watching_bot(tmp_path, feeds, "/a.xml") as bot:
        bot.fake.add_chat(GROUP, "supergroup")
        bot.fake.make_admin(GROUP, ADMIN)
        await say(bot, ADMIN, "/timezone Kyiv")
        refused = await say(bot, MEMBER, "/digest 08:00")
        assert refused.plain_text == admins_only()
        shown = await say(bot, ADMIN, "/settings")
        assert "Europe/Kyiv" in shown.plain_text
        assert "Digests: off" in shown.plain_text
        mine = await bot.ask(ADMIN, "/settings")
        assert "Time zone: UTC" in mine.plain_text, "the admin's own chat keeps its schedule"


async def test_commands_for_other_bots_and_group_talk_are_ignored(
    tmp_path: Path, feeds: Feeds
) -> None:
    async with watching_bot(tmp_path, feeds, "/a.xml") as bot:
        bot.fake.add_chat(GROUP, "supergroup")
        bot.fake.make_admin(GROUP, ADMIN)
        bot.fake.make_admin(GROUP, bot.fake.bot_id)  # an admin bot sees every message
        for text in ("/list@otherbot", "/subscribe@otherbot NATO", "/frobnicate", "hello all"):
            bot.fake.user_sends(ADMIN, text, chat_id=GROUP, chat_type="supergroup")
        username = bot.fake.bot_username
        reply = await say(bot, ADMIN, f"/subscribe@{username} Ukraine")
        assert "Ukraine" in reply.plain_text
        assert len(bot.fake.sent(GROUP)) == 1, "nothing answered but the command for this bot"
        unknown = await say(bot, ADMIN, f"/frobnicate@{username}")
        assert "/help" in unknown.plain_text
        assert subscriptions(bot) == ["Ukraine"]


async def test_a_bare_subscribe_takes_the_admins_reply_under_privacy_mode(
    tmp_path: Path, feeds: Feeds
) -> None:
    async with watching_bot(tmp_path, feeds, "/a.xml") as bot:
        bot.fake.add_chat(GROUP, "supergroup")
        bot.fake.make_admin(GROUP, ADMIN)
        asked = await say(bot, ADMIN, "/subscribe")
        # The question answers the admin's command, its ForceReply only for that admin.
        assert asked.reply_markup is not None and asked.reply_markup["selective"] is True
        assert asked.params["reply_parameters"]["message_id"] > 0
        ignored = bot.fake.user_sends(ADMIN, "NATO", chat_id=GROUP, chat_type="supergroup")
        assert ignored["update_id"] == 0, "privacy mode: a plain message is not the bot's"
        bot.fake.user_sends(
            MEMBER,
            "football",
            chat_id=GROUP,
            chat_type="supergroup",
            reply_to_message_id=asked.message_id,
        )
        reply = await say(bot, ADMIN, "Ukraine", reply_to_message_id=asked.message_id)
        assert "Ukraine" in reply.plain_text
        assert subscriptions(bot) == ["Ukraine"], "a member's answer is not taken"


async def test_added_removed_and_added_back(tmp_path: Path, feeds: Feeds) -> None:
    async with watching_bot(tmp_path, feeds, "/a.xml") as bot:
        bot.fake.add_chat(GROUP, "supergroup", title="Newsroom", with_bot=False)
        bot.fake.make_admin(GROUP, ADMIN)
        bot.fake.change_bot_status(GROUP, "member", by_user=ADMIN)
        [intro] = await bot.fake.wait_for_sent(GROUP, count=1)
        assert intro.text == group_introduction()
        bot.fake.change_bot_status(GROUP, "administrator", by_user=ADMIN)  # promoted: no intro
        await say(bot, ADMIN, "/subscribe Ukraine")
        assert [m.text for m in bot.fake.sent(GROUP)].count(group_introduction()) == 1

        bot.fake.change_bot_status(GROUP, "kicked", by_user=ADMIN)
        feeds.publish("/a.xml", story(2, "Ukraine while removed"))
        await bot.fake.wait_until(lambda: chat_status(bot) == ChatStatus.BLOCKED)
        await bot.settle(feeds, "/a.xml")
        sent_while_removed = len(bot.fake.sent(GROUP))

        bot.fake.change_bot_status(GROUP, "member", by_user=ADMIN)
        await bot.fake.wait_for_sent(GROUP, count=sent_while_removed + 1)
        await bot.fake.wait_until(lambda: chat_status(bot) == ChatStatus.ACTIVE)
        feeds.publish("/a.xml", story(3, "Ukraine after the return"))
        sent = await bot.fake.wait_for_sent(
            GROUP, count=sent_while_removed + 2, timeout=POLL_TIMEOUT
        )
        assert sent[-1].plain_text.startswith("Ukraine after the return")
        assert not any(m.plain_text.startswith("Ukraine while removed") for m in sent)
        assert [m.text for m in sent].count(group_introduction()) == 2, "introduced once per add"
        assert subscriptions(bot) == ["Ukraine"]


def _quiet_now() -> str:
    """Quiet hours (UTC) from an hour ago to an hour from now: what matches is held."""
    now = datetime.now(UTC)
    start, end = now - timedelta(hours=1), now + timedelta(hours=1)
    return f"/quiet {start:%H:%M}-{end:%H:%M}"


def outbox_statuses(bot: BotHarness, chat_id: int) -> list[str]:
    with sqlite3.connect(bot.database) as db:
        rows = db.execute("SELECT status FROM outbox WHERE chat_id = ? ORDER BY id", (chat_id,))
        return [str(row[0]) for row in rows]


async def test_restricted_from_sending_the_group_stops_and_its_pending_rows_drop(
    tmp_path: Path, feeds: Feeds
) -> None:
    async with watching_bot(tmp_path, feeds, "/a.xml") as bot:
        bot.fake.add_chat(SMALL_GROUP, "group")
        bot.fake.make_admin(SMALL_GROUP, ADMIN)
        await say(bot, ADMIN, "/subscribe Ukraine", chat_id=SMALL_GROUP)
        await say(bot, ADMIN, _quiet_now(), chat_id=SMALL_GROUP)  # held: pending rows
        feeds.publish("/a.xml", *[story(n, f"Ukraine story {n}") for n in range(2, 5)])
        await bot.fake.wait_until(
            lambda: outbox_statuses(bot, SMALL_GROUP) == ["pending"] * 3, timeout=POLL_TIMEOUT
        )
        bot.fake.change_bot_status(
            SMALL_GROUP, "restricted", by_user=ADMIN, can_send_messages=False
        )
        await bot.fake.wait_until(lambda: outbox_statuses(bot, SMALL_GROUP) == ["dropped"] * 3)
        assert chat_status(bot, SMALL_GROUP) == ChatStatus.BLOCKED

        bot.fake.change_bot_status(SMALL_GROUP, "member", by_user=ADMIN)
        await bot.fake.wait_until(lambda: chat_status(bot, SMALL_GROUP) == ChatStatus.ACTIVE)
        texts = [m.text for m in bot.fake.sent(SMALL_GROUP)]
        assert group_introduction() not in texts, "allowed to post again, not added: no intro"
        assert subscriptions(bot, SMALL_GROUP) == ["Ukraine"]


async def test_a_paused_group_stays_paused_when_re_added(tmp_path: Path, feeds: Feeds) -> None:
    async with watching_bot(tmp_path, feeds, "/a.xml") as bot:
        bot.fake.add_chat(GROUP, "supergroup")
        bot.fake.make_admin(GROUP, ADMIN)
        await say(bot, ADMIN, "/pause")
        bot.fake.change_bot_status(GROUP, "left", by_user=ADMIN)
        bot.fake.change_bot_status(GROUP, "member", by_user=ADMIN)
        await bot.fake.wait_until(
            lambda: any(m.text == group_introduction() for m in bot.fake.sent(GROUP))
        )
        assert chat_status(bot) == ChatStatus.PAUSED
    storage = await SqliteStorage.open(bot.database)
    try:
        chat = await storage.get_chat(GROUP)
        assert chat is not None and chat.status is ChatStatus.PAUSED
    finally:
        await storage.close()


async def test_a_flood_of_stories_reaches_a_group_within_its_pace(
    tmp_path: Path, feeds: Feeds
) -> None:
    flood = 40
    async with watching_bot(tmp_path, feeds, "/a.xml") as bot:
        bot.fake.enforce_limits()  # Telegram's, with 20 messages a minute into a group
        bot.fake.add_chat(GROUP, "supergroup")
        bot.fake.make_admin(GROUP, ADMIN)
        await say(bot, ADMIN, "/subscribe Ukraine")
        titles = [f"Ukraine update {n}" for n in range(flood)]
        feeds.publish("/a.xml", *[story(n + 2, title) for n, title in enumerate(titles)])

        def delivered() -> set[str]:
            text = "\n".join(m.plain_text for m in bot.fake.sent(GROUP))
            return {title for title in titles if f"{title}\n" in text + "\n"}

        await bot.fake.wait_until(lambda: len(delivered()) == flood, timeout=POLL_TIMEOUT)
        await bot.settle(feeds, "/a.xml")
        messages = bot.fake.sent(GROUP)[1:]
        assert bot.fake.rate_limited_count == 0, "never over Telegram's pace"
        assert messages[0].plain_text.startswith("…and 40 more new stories"), "a digest at once"
        assert len(messages) <= 3, "one digest, split to fit, not 40 alerts"
