"""The Bot API fake's channels, as Telegram behaves: getChat by @username, posting rights,
channel posts, forwarded posts and the bot's my_chat_member updates."""

from collections.abc import AsyncIterator, Iterator

import pytest
from telegram import Bot, ChatMemberAdministrator, MessageOriginChannel, Update
from telegram.error import BadRequest, Forbidden

from tests.botapi_fake import BotApiFake

CHANNEL = -1_001_000_000_077
OWNER = 31


@pytest.fixture
def fake() -> Iterator[BotApiFake]:
    with BotApiFake() as api:
        api.add_chat(CHANNEL, "channel", title="News Desk", username="NewsDesk")
        api.make_admin(CHANNEL, OWNER, creator=True)
        yield api


@pytest.fixture
async def bot(fake: BotApiFake) -> AsyncIterator[Bot]:
    async with Bot(fake.token, base_url=fake.base_url) as client:
        yield client


async def test_get_chat_finds_a_public_channel_by_username(fake: BotApiFake, bot: Bot) -> None:
    chat = await bot.get_chat("@newsdesk")
    assert (chat.id, chat.type, chat.title, chat.username) == (
        CHANNEL,
        "channel",
        "News Desk",
        "NewsDesk",
    )
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.get_chat("@nosuchchannel")


async def test_the_bot_posts_only_as_an_admin_with_can_post(fake: BotApiFake, bot: Bot) -> None:
    with pytest.raises(Forbidden, match="not a member of the channel chat"):
        await bot.send_message(CHANNEL, "hi")
    fake.set_member(CHANNEL, fake.bot_id, "administrator")
    with pytest.raises(BadRequest, match="Need administrator rights"):
        await bot.send_message(CHANNEL, "hi")
    fake.set_member(CHANNEL, fake.bot_id, "administrator", can_post_messages=True)
    await bot.send_message(CHANNEL, "hi")
    assert [m.plain_text for m in fake.sent(CHANNEL)] == ["hi"]
    fake.set_member(CHANNEL, fake.bot_id, "kicked")
    with pytest.raises(Forbidden, match="kicked from the channel chat"):
        await bot.send_message(CHANNEL, "hi")


async def test_only_an_admin_bot_sees_a_channels_members(fake: BotApiFake, bot: Bot) -> None:
    assert (await bot.get_chat_member(CHANNEL, fake.bot_id)).status == "left"
    fake.set_member(CHANNEL, fake.bot_id, "member")
    with pytest.raises(BadRequest, match="Member list is inaccessible"):
        await bot.get_chat_member(CHANNEL, OWNER)
    fake.set_member(CHANNEL, fake.bot_id, "administrator", can_post_messages=True)
    assert (await bot.get_chat_member(CHANNEL, OWNER)).status == "creator"
    me = await bot.get_chat_member(CHANNEL, fake.bot_id)
    assert isinstance(me, ChatMemberAdministrator) and me.can_post_messages


async def test_posts_forwards_and_membership_changes_arrive_as_updates(
    fake: BotApiFake, bot: Bot
) -> None:
    fake.channel_posts(CHANNEL, "/start now")
    fake.user_forwards_post(OWNER, CHANNEL, 12, text="Our post")
    fake.change_bot_member(CHANNEL, "administrator", by_user=OWNER, can_post_messages=True)
    fake.change_bot_member(CHANNEL, "administrator", by_user=OWNER)
    updates = await bot.get_updates(timeout=0)
    post, forward, promoted, demoted = updates
    assert isinstance(post, Update) and post.channel_post is not None
    assert post.channel_post.from_user is None
    assert post.channel_post.sender_chat is not None
    assert post.channel_post.sender_chat.id == CHANNEL
    assert post.effective_chat is not None and post.effective_chat.type == "channel"
    assert forward.message is not None and forward.message.chat.id == OWNER
    origin = forward.message.forward_origin
    assert isinstance(origin, MessageOriginChannel)
    assert (origin.chat.id, origin.chat.username, origin.message_id) == (CHANNEL, "NewsDesk", 12)
    change = promoted.my_chat_member
    assert change is not None and change.from_user.id == OWNER
    assert (change.old_chat_member.status, change.new_chat_member.status) == (
        "left",
        "administrator",
    )
    assert isinstance(change.new_chat_member, ChatMemberAdministrator)
    assert change.new_chat_member.can_post_messages
    assert demoted.my_chat_member is not None
    assert isinstance(demoted.my_chat_member.old_chat_member, ChatMemberAdministrator)
    assert demoted.my_chat_member.old_chat_member.can_post_messages
    new = demoted.my_chat_member.new_chat_member
    assert isinstance(new, ChatMemberAdministrator) and not new.can_post_messages
