"""Who administers a group or channel: getChatMember, remembered briefly."""

import logging
from collections import OrderedDict
from collections.abc import Callable

from telegram import Bot, ChatMember
from telegram.error import TelegramError

log = logging.getLogger(__name__)

# How long an answer is trusted: long enough that a burst of commands in a group costs one
# getChatMember, short enough that a demoted admin loses the right within a minute.
ADMIN_CACHE_SECONDS = 60.0
# (chat, user) pairs remembered; the oldest go first. Only people who just used a command
# in a group are asked about, so this bounds memory, not hits.
ADMIN_CACHE_SIZE = 10_000
ADMIN_STATUSES = frozenset({ChatMember.OWNER, ChatMember.ADMINISTRATOR})


class ChatAdmins:
    """Answers whether a user administers a chat, asking Telegram at most once per TTL.

    A failed getChatMember (network, chat not found, the bot removed) is logged and counts as
    "not an admin" for that one question, without being remembered: the next one asks again.
    """

    def __init__(
        self,
        bot: Bot,
        clock: Callable[[], float],
        ttl: float = ADMIN_CACHE_SECONDS,
        capacity: int = ADMIN_CACHE_SIZE,
    ) -> None:
        self._bot = bot
        self._clock = clock
        self._ttl = ttl
        self._capacity = capacity
        # (chat id, user id) -> (when the answer expires, the answer)
        self._known: OrderedDict[tuple[int, int], tuple[float, bool]] = OrderedDict()

    async def is_admin(self, chat_id: int, user_id: int) -> bool:
        """Return whether the user is the chat's creator or one of its administrators."""
        key = (chat_id, user_id)
        now = self._clock()
        known = self._known.get(key)
        if known is not None and known[0] > now:
            return known[1]
        try:
            member = await self._bot.get_chat_member(chat_id, user_id)
        except TelegramError as error:
            log.warning(
                "Cannot check whether user %s administers chat %s (taken as not): %s",
                user_id,
                chat_id,
                error,
            )
            return False
        answer = member.status in ADMIN_STATUSES
        self._remember(key, self._clock() + self._ttl, answer)
        return answer

    def forget(self, chat_id: int) -> None:
        """Drop what is known about the chat's admins (its membership just changed)."""
        for key in [key for key in self._known if key[0] == chat_id]:
            del self._known[key]

    def _remember(self, key: tuple[int, int], expires: float, answer: bool) -> None:
        self._known[key] = (expires, answer)
        self._known.move_to_end(key)
        while len(self._known) > self._capacity:
            self._known.popitem(last=False)
