"""The admin check (handlers/admins.py) against the Bot API fake's getChatMember."""

import logging
from collections.abc import AsyncIterator, Iterator

import pytest
from telegram import Bot, ChatMemberAdministrator, ChatMemberOwner, ChatMemberRestricted
from telegram.error import BadRequest, Forbidden

from handlers.admins import ChatAdmins
from tests.botapi_fake import BotApiFake
from tests.clocks import StoppedClock

GROUP = -1001234
OTHER_GROUP = -1005678
ADMIN, MEMBER = 7, 8
TTL = 60.0


@pytest.fixture
def fake() -> Iterator[BotApiFake]:
    with BotApiFake() as api:
        api.add_chat(GROUP, "supergroup")
        api.add_chat(OTHER_GROUP, "supergroup")
        api.make_admin(GROUP, ADMIN)
        api.set_member(GROUP, MEMBER, "member")
        yield api


@pytest.fixture
async def bot(fake: BotApiFake) -> AsyncIterator[Bot]:
    async with Bot(fake.token, base_url=fake.base_url) as client:
        yield client


@pytest.fixture
def clock() -> StoppedClock:
    return StoppedClock()


@pytest.fixture
def admins(bot: Bot, clock: StoppedClock) -> ChatAdmins:
    return ChatAdmins(bot, clock, TTL)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("creator", True),
        ("administrator", True),
        ("member", False),
        ("restricted", False),
        ("left", False),
        ("kicked", False),
    ],
)
async def test_only_the_creator_and_administrators_are_admins(
    fake: BotApiFake, admins: ChatAdmins, status: str, expected: bool
) -> None:
    fake.set_member(GROUP, 99, status)
    assert await admins.is_admin(GROUP, 99) is expected


async def test_someone_the_chat_never_saw_is_not_an_admin(admins: ChatAdmins) -> None:
    assert await admins.is_admin(GROUP, 12345) is False


async def test_admin_of_one_chat_is_not_admin_of_another(admins: ChatAdmins) -> None:
    assert await admins.is_admin(GROUP, ADMIN) is True
    assert await admins.is_admin(OTHER_GROUP, ADMIN) is False


async def test_an_answer_is_trusted_for_the_ttl_then_asked_again(
    fake: BotApiFake, admins: ChatAdmins, clock: StoppedClock
) -> None:
    assert await admins.is_admin(GROUP, ADMIN) is True
    fake.set_member(GROUP, ADMIN, "member")  # demoted
    clock.advance(TTL - 1)
    assert await admins.is_admin(GROUP, ADMIN) is True
    assert fake.count_requests("getChatMember") == 1
    clock.advance(2)
    assert await admins.is_admin(GROUP, ADMIN) is False
    assert fake.count_requests("getChatMember") == 2


async def test_forget_drops_one_chats_answers(
    fake: BotApiFake, admins: ChatAdmins, clock: StoppedClock
) -> None:
    assert await admins.is_admin(GROUP, ADMIN) is True
    assert await admins.is_admin(OTHER_GROUP, ADMIN) is False
    admins.forget(GROUP)
    assert await admins.is_admin(GROUP, ADMIN) is True
    assert await admins.is_admin(OTHER_GROUP, ADMIN) is False
    assert fake.count_requests("getChatMember") == 3


@pytest.mark.parametrize(
    ("status", "description"),
    [(400, "Bad Request: chat not found"), (500, None), (403, "Forbidden: bot is not a member")],
)
async def test_a_failed_call_is_logged_taken_as_not_admin_and_not_remembered(
    fake: BotApiFake,
    admins: ChatAdmins,
    caplog: pytest.LogCaptureFixture,
    status: int,
    description: str | None,
) -> None:
    fake.fail_next("getChatMember", status=status, description=description)
    with caplog.at_level(logging.WARNING, logger="handlers.admins"):
        assert await admins.is_admin(GROUP, ADMIN) is False
    assert f"user {ADMIN} administers chat {GROUP}" in caplog.text
    assert await admins.is_admin(GROUP, ADMIN) is True


async def test_the_oldest_answers_go_past_capacity(fake: BotApiFake, bot: Bot) -> None:
    admins = ChatAdmins(bot, StoppedClock(), TTL, capacity=2)
    for user in (ADMIN, MEMBER, 99):
        await admins.is_admin(GROUP, user)
    await admins.is_admin(GROUP, 99)
    assert fake.count_requests("getChatMember") == 3
    await admins.is_admin(GROUP, ADMIN)
    assert fake.count_requests("getChatMember") == 4


# --- the fake's getChatMember, as Telegram answers it ---


async def test_fake_answers_chat_members_in_telegrams_shapes(fake: BotApiFake, bot: Bot) -> None:
    fake.make_admin(GROUP, 5, creator=True)
    fake.make_admin(GROUP, 6, can_manage_topics=True)
    fake.set_member(GROUP, 9, "restricted", can_send_messages=False)
    owner = await bot.get_chat_member(GROUP, 5)
    admin = await bot.get_chat_member(GROUP, 6)
    restricted = await bot.get_chat_member(GROUP, 9)
    assert isinstance(owner, ChatMemberOwner)
    assert isinstance(admin, ChatMemberAdministrator)
    assert admin.can_manage_topics and admin.can_manage_chat and not admin.can_promote_members
    assert isinstance(restricted, ChatMemberRestricted)
    assert restricted.is_member and not restricted.can_send_messages
    assert (await bot.get_chat_member(GROUP, 404)).status == "left"


async def test_fake_makes_a_writer_a_member(fake: BotApiFake, bot: Bot) -> None:
    fake.user_sends(31, "hello", chat_id=GROUP, chat_type="supergroup")
    member = await bot.get_chat_member(GROUP, 31)
    assert member.status == "member"
    assert member.user.first_name == "Test"


async def test_fake_refuses_a_bot_that_is_not_in_the_chat(fake: BotApiFake, bot: Bot) -> None:
    fake.set_member(GROUP, fake.bot_id, "kicked")
    with pytest.raises(Forbidden, match="kicked from the supergroup chat"):
        await bot.get_chat_member(GROUP, ADMIN)
    fake.set_member(GROUP, fake.bot_id, "left")
    with pytest.raises(Forbidden, match="not a member of the supergroup chat"):
        await bot.get_chat_member(GROUP, ADMIN)
    fake.set_member(GROUP, fake.bot_id, "administrator")
    assert (await bot.get_chat_member(GROUP, fake.bot_id)).status == "administrator"


async def test_fake_private_chat_and_bad_users(fake: BotApiFake, bot: Bot) -> None:
    assert (await bot.get_chat_member(42, 42)).status == "member"
    with pytest.raises(BadRequest, match="User not found"):
        await bot.get_chat_member(42, 43)
    fake.forget_chat(-1009999)
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.get_chat_member(-1009999, 42)


def test_fake_checks_chat_ids_and_types(fake: BotApiFake) -> None:
    with pytest.raises(ValueError, match="not a channel id"):
        fake.add_chat(-5, "channel")
    with pytest.raises(ValueError, match="not a group id"):
        fake.add_chat(-1005, "group")
    with pytest.raises(ValueError, match="only a supergroup"):
        fake.add_chat(-5, "group", is_forum=True)
    with pytest.raises(ValueError, match="unknown chat member status"):
        fake.set_member(GROUP, 1, "owner")
    assert fake.add_chat(-1003, "channel", title="News")["title"] == "News"
