"""Channels as subscribers, end to end through the Bot API fake: linking (by @name or a
forwarded post) and who may, alerts posted to the channel, the bot demoted and restored."""

import sqlite3
from pathlib import Path

from bot.i18n import t, use_locale
from bot.storage.sqlite import SqliteStorage
from tests.botapi_fake import BotApiFake, SentMessage
from tests.e2e import POLL_TIMEOUT, BotHarness, Feeds, eventually, running_bot, story, watching_bot

CHANNEL = -1_001_000_000_777
ANN, BOB, CAROL = 3001, 3002, 3003  # the owner, a reader, another admin


def open_channel(fake: BotApiFake, *, bot_may_post: bool = True) -> None:
    """@NewsDesk, owned by Ann; the bot made an admin that may post (if bot_may_post)."""
    fake.add_chat(CHANNEL, "channel", title="News Desk", username="NewsDesk")
    fake.make_admin(CHANNEL, ANN, creator=True)
    if bot_may_post:
        fake.change_bot_member(CHANNEL, "administrator", by_user=ANN, can_post_messages=True)


def outbox_statuses(database: Path, chat_id: int) -> dict[str, int]:
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT status, count(*) FROM outbox WHERE chat_id = ? GROUP BY status", (chat_id,)
        ).fetchall()
    return {str(status): int(count) for status, count in rows}


def chat_status(database: Path, chat_id: int) -> str:
    with sqlite3.connect(database) as db:
        row = db.execute("SELECT status FROM chats WHERE id = ?", (chat_id,)).fetchone()
    return str(row[0])


async def next_to(bot: BotHarness, user_id: int, before: int) -> SentMessage:
    """The first message the bot sends the user after the `before` it had sent."""
    return (await bot.fake.wait_for_sent(user_id, count=before + 1))[before]


async def test_a_linked_channel_is_fed_stopped_when_demoted_and_restored(
    tmp_path: Path, feeds: Feeds
) -> None:
    async with watching_bot(tmp_path, feeds, "/world.xml") as bot:
        fake = bot.fake
        open_channel(fake)
        linked = await bot.ask(ANN, "/channel add @NewsDesk")
        assert linked.plain_text.startswith("✅ Linked News Desk.")
        added = await bot.ask(ANN, "/subscribe @NewsDesk Ukraine, NATO")
        assert "Ukraine" in added.plain_text and "NATO" in added.plain_text

        feeds.publish("/world.xml", story(2, "Ukraine and NATO meet in Brussels"))
        [alert] = await fake.wait_for_sent(CHANNEL, timeout=POLL_TIMEOUT)
        assert alert.plain_text.startswith("Ukraine and NATO meet in Brussels")
        assert "Matched" not in alert.plain_text, "no Matched line in a channel by default"
        assert alert.reply_markup is None, "no tuning buttons in a channel"
        assert {"type": "bold", "offset": 0, "length": 7} in alert.entities
        listed = await bot.ask(ANN, "/list @NewsDesk")
        assert "Ukraine" in listed.plain_text and "NATO" in listed.plain_text
        assert (await bot.ask(ANN, "/list")).plain_text.startswith("You have no"), "Ann's own"

        # What matches next is held for a digest, so it is pending when the bot is demoted.
        await bot.ask(ANN, "/digest @NewsDesk 08:00")
        feeds.publish("/world.xml", story(3, "Ukraine talks go on"))
        await eventually(
            lambda: outbox_statuses(bot.database, CHANNEL).get("pending") == 1, POLL_TIMEOUT
        )
        before = len(fake.sent(ANN))
        fake.change_bot_member(CHANNEL, "administrator", by_user=ANN)  # may no longer post
        note = await next_to(bot, ANN, before)
        assert note.plain_text.startswith("⚠️ I can no longer post in News Desk")
        assert chat_status(bot.database, CHANNEL) == "blocked"
        assert outbox_statuses(bot.database, CHANNEL) == {"sent": 1, "dropped": 1}
        refused = await bot.ask(ANN, "/resume @NewsDesk")
        assert refused.plain_text.startswith("I cannot post in News Desk")

        before = len(fake.sent(ANN))
        fake.change_bot_member(CHANNEL, "administrator", by_user=ANN, can_post_messages=True)
        note = await next_to(bot, ANN, before)
        assert note.plain_text == "✅ I can post in News Desk again: its alerts resume."
        assert chat_status(bot.database, CHANNEL) == "active"
        await bot.ask(ANN, "/digest @NewsDesk off")
        feeds.publish("/world.xml", story(4, "NATO ministers agree"))
        sent = await fake.wait_for_sent(CHANNEL, count=2, timeout=POLL_TIMEOUT)
        assert sent[1].plain_text.startswith("NATO ministers agree")
        await bot.settle(feeds, "/world.xml")
        assert len(fake.sent(CHANNEL)) == 2, "what was dropped is not sent later"


async def test_linking_is_refused_to_non_admins_and_where_the_bot_cannot_post(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path) as bot:
        fake = bot.fake
        open_channel(fake, bot_may_post=False)
        fake.set_member(CHANNEL, BOB, "member")
        refused = await bot.ask(ANN, "/channel add @NewsDesk")
        assert refused.plain_text.startswith("I cannot post in News Desk."), "not in it"
        fake.set_member(CHANNEL, fake.bot_id, "administrator")  # an admin that may not post
        refused = await bot.ask(ANN, "/channel add @NewsDesk")
        assert refused.plain_text.startswith("I cannot post in News Desk."), "may not post"
        fake.set_member(CHANNEL, fake.bot_id, "administrator", can_post_messages=True)

        refused = await bot.ask(BOB, "/channel add @NewsDesk")
        assert refused.plain_text == (
            "Only the admins of News Desk can link it or manage its alerts."
        )
        before = len(fake.sent(BOB))
        fake.user_forwards_post(BOB, CHANNEL, 9)
        refused = await next_to(bot, BOB, before)
        assert refused.plain_text.startswith("Only the admins of News Desk")
        assert (await bot.ask(ANN, "/channel add @nosuchdesk")).plain_text.startswith(
            "I cannot find @nosuchdesk."
        )
        not_linked = await bot.ask(ANN, "/subscribe @NewsDesk NATO")
        assert not_linked.plain_text.splitlines() == [
            "@NewsDesk is not linked. Link it first: /channel add @NewsDesk",
            # It may have meant the word: how to watch for it.
            "To watch for the word itself, leave out the @: /subscribe NewsDesk",
        ]
        storage = await SqliteStorage.open(bot.database)
        try:
            assert await storage.get_channel(CHANNEL) is None
        finally:
            await storage.close()

        assert (await bot.ask(ANN, "/channel add @NewsDesk")).plain_text.startswith("✅ Linked")
        refused = await bot.ask(BOB, "/subscribe @NewsDesk NATO")
        assert refused.plain_text.startswith("Only the admins of @NewsDesk")
        storage = await SqliteStorage.open(bot.database)
        try:
            assert await storage.list_subscriptions(CHANNEL) == []
            assert await storage.list_subscriptions(BOB) == []
        finally:
            await storage.close()


async def test_a_forwarded_post_links_and_the_card_turns_the_matched_line_on(
    tmp_path: Path, feeds: Feeds
) -> None:
    async with watching_bot(tmp_path, feeds, "/world.xml") as bot:
        fake = bot.fake
        open_channel(fake)
        fake.make_admin(CHANNEL, CAROL)
        fake.channel_posts(CHANNEL, "Good morning, readers")  # the channel's own posts,
        fake.channel_posts(CHANNEL, "/help")  # which the bot does not ask for, nor answer
        before = len(fake.sent(ANN))
        fake.user_forwards_post(ANN, CHANNEL, 5)
        assert (await next_to(bot, ANN, before)).plain_text.startswith("✅ Linked News Desk.")

        listing = await bot.ask(ANN, "/channel")
        assert listing.plain_text.startswith("You linked 1 channel: tap it")
        [show] = listing.callback_data
        before = len(fake.sent(ANN))
        fake.user_presses(ANN, listing.message_id, show)
        card = await next_to(bot, ANN, before)
        assert card.plain_text.startswith("📣 News Desk @NewsDesk\nAlerts are on.")
        assert "Alerts do not show the queries they matched." in card.plain_text
        [turn_on] = card.callback_data
        fake.user_presses(ANN, card.message_id, turn_on)
        await fake.wait_until(lambda: "Alerts end with the queries" in fake.sent(ANN)[before].text)

        # Another admin of the channel manages it too, in the language the channel is given.
        added = await bot.ask(CAROL, "/subscribe @newsdesk Ukraine")
        assert "Ukraine" in added.plain_text
        chosen = await bot.ask(CAROL, "/language @NewsDesk uk")
        assert chosen.plain_text == "News Desk gets its alerts in українська now."
        settings = await bot.ask(CAROL, "/settings @NewsDesk")
        assert settings.reply_markup is None, "its buttons would act on Carol's own chat"
        feeds.publish("/world.xml", story(2, "Ukraine wins the vote"))
        [alert] = await fake.wait_for_sent(CHANNEL, timeout=POLL_TIMEOUT)
        with use_locale("uk"):
            matched = t("Matched: {queries}", queries="Ukraine")
        assert alert.plain_text.splitlines()[-1] == matched
        await bot.settle(feeds, "/world.xml")
        assert [m.plain_text for m in fake.sent(CHANNEL)] == [alert.plain_text]


async def test_an_unlinked_channel_loses_its_subscriptions(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        open_channel(bot.fake)
        await bot.ask(ANN, "/channel add https://t.me/NewsDesk")
        await bot.ask(ANN, "/subscribe @NewsDesk Ukraine")
        paused = await bot.ask(ANN, "/pause @NewsDesk")
        assert paused.plain_text.startswith("⏸ Alerts paused in News Desk")
        added = await bot.ask(ANN, "/subscribe @NewsDesk NATO")
        assert added.plain_text.endswith("Alerts are paused: /resume @NewsDesk")
        assert (await bot.ask(ANN, "/resume @NewsDesk")).plain_text.startswith("Alerts are back on")
        assert (await bot.ask(ANN, "/resume")).plain_text == "Alerts are already on."
        removed = await bot.ask(ANN, "/channel remove @NewsDesk")
        assert removed.plain_text == "Unlinked News Desk and removed its 2 subscriptions."
        listed = await bot.ask(ANN, "/list @NewsDesk")
        assert listed.plain_text == "@NewsDesk is not linked. Link it first: /channel add @NewsDesk"
        assert (await bot.ask(ANN, "/channel")).plain_text.startswith(
            "You have not linked a channel yet."
        )


async def test_a_channel_that_removes_the_bot_stops_and_adding_it_back_resumes(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path) as bot:
        fake = bot.fake
        open_channel(fake)
        await bot.ask(ANN, "/channel add @NewsDesk", language_code="uk")
        await bot.ask(ANN, "/subscribe @NewsDesk NATO")
        before = len(fake.sent(ANN))
        fake.change_bot_member(CHANNEL, "left", by_user=ANN)
        note = await next_to(bot, ANN, before)
        # In the linking admin's language:
        assert note.plain_text.startswith("⚠️ Я більше не можу публікувати в News Desk")
        assert chat_status(bot.database, CHANNEL) == "blocked"
        before = len(fake.sent(ANN))
        fake.change_bot_member(CHANNEL, "administrator", by_user=ANN, can_post_messages=True)
        await next_to(bot, ANN, before)
        assert chat_status(bot.database, CHANNEL) == "active"
        listed = await bot.ask(ANN, "/list @NewsDesk")
        assert "NATO" in listed.plain_text, "it comes back with its subscriptions"


async def test_a_paused_channel_that_loses_and_regains_posting_is_told_it_stays_paused(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path) as bot:
        fake = bot.fake
        open_channel(fake)
        await bot.ask(ANN, "/channel add @NewsDesk")
        await bot.ask(ANN, "/subscribe @NewsDesk NATO")
        await bot.ask(ANN, "/pause @NewsDesk")
        assert chat_status(bot.database, CHANNEL) == "paused"
        before = len(fake.sent(ANN))
        fake.change_bot_member(CHANNEL, "left", by_user=ANN)
        lost = await next_to(bot, ANN, before)
        assert "Its alerts are paused" in lost.plain_text and "/resume @NewsDesk" in lost.plain_text
        assert chat_status(bot.database, CHANNEL) == "paused"
        before = len(fake.sent(ANN))
        fake.change_bot_member(CHANNEL, "administrator", by_user=ANN, can_post_messages=True)
        restored = await next_to(bot, ANN, before)
        # Not "its alerts resume": the admins paused them, and they stay paused.
        assert restored.plain_text.startswith("✅ I can post in News Desk again.")
        assert "still paused" in restored.plain_text
        assert "/resume @NewsDesk" in restored.plain_text
        assert chat_status(bot.database, CHANNEL) == "paused"
