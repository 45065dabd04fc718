"""The delivery side of fan-out on read: stored matches in, chats' claims out.

The Claimer reads the matches polls stored (story -> queries) into a MatchLog, gives every
subscriber of those queries a turn (ChatQueues.want), and when a chat's turn comes claims its
pending stories: storage queues them as outbox rows, as alerts or one digest (burst.py), and
moves the chat's cursor in one transaction. Once no chat waits for a turn, every chat has
dealt with every logged match: the watermark moves and the log empties, so memory follows
what is undelivered, not what was ever matched. Under an overload some chat always waits,
so the watermark also moves by rounds: the matches logged when a round began are dealt with
once every chat then waiting has finished a claim (each gets its turn within a round), and
the log keeps about a round of matches however long the overload lasts.

With several instances (bot/delivery/shared.py) each reads every match and gives every
subscriber a turn; a claim leases its rows to the claiming instance, and a chat another
instance holds stays wanted here until that instance is done with it. So an instance moves
the watermark (deleting matches) only once every subscriber of every match it read has a
cursor past it: another instance that had not read those matches yet loses nothing (every
instance's index holds every subscription), and its later claims of those chats find
their cursors already there.
"""

import asyncio
from collections.abc import Callable, Mapping, Sequence

from bot.delivery.burst import COALESCE_AFTER_SECONDS
from bot.delivery.fanout import MatchLog, claim_planner
from bot.delivery.pacing import ChatPacer, ChatQueues
from bot.storage import Claim, Storage, StorageUnavailable
from bot.storage.leases import Lease

# Matches read per statement; the loop yields between pages, so a burst of stories matched
# by thousands of chats does not hold up the bot's replies.
MATCH_PAGE = 500

# A query's subscribers, {chat id: anything} (the subscription index's own dict, unchanged).
Subscribers = Callable[[str], Mapping[int, object]]


class Claimer:
    """Turns stored matches into chats' turns, and a chat's turn into its outbox rows."""

    def __init__(
        self,
        storage: Storage,
        subscribers: Subscribers,
        queues: ChatQueues,
        pacer: ChatPacer,
        clock: Callable[[], float],
        *,
        burst_limit: int,
        coalesce_after: float = COALESCE_AFTER_SECONDS,
        lease: Callable[[], Lease | None] = lambda: None,
    ) -> None:
        self._storage = storage
        self._subscribers = subscribers
        self._queues = queues
        self._pacer = pacer
        self._clock = clock
        self._burst_limit = burst_limit
        self._coalesce_after = coalesce_after
        self._lease = lease
        self._log = MatchLog()
        self._watermark: int | None = None
        # The last match logged when the current round began (None: no round).
        self._round_through: int | None = None

    async def load(self) -> None:
        """Read the matches stored since the last read and give their subscribers a turn."""
        if self._watermark is None:
            # First read since start: everything after the watermark may be pending for
            # someone (a chat's cursor tells, at its claim).
            self._watermark = await self._storage.delivery_watermark()
            self._log.last_id = self._watermark
        while True:
            page = await self._storage.story_matches(self._log.last_id, MATCH_PAGE)
            for query in self._log.add(page):
                self._queues.want(self._subscribers(query))
            if len(page) < MATCH_PAGE:
                return
            await asyncio.sleep(0)

    async def claim_turns(self, limit: int) -> None:
        """Claim up to limit chats whose turn came and whose pacing allows a message now,
        all in one transaction (one storage call, however many chats)."""
        turns = self._queues.pick_claims(limit)
        if not turns:
            return
        try:
            await self.claim(turns)
        except StorageUnavailable:
            self._queues.want(turns)  # their turns again after the pause
            raise
        finally:
            for chat_id in turns:
                self._queues.release(chat_id)

    async def claim(self, chat_ids: Sequence[int]) -> list[Claim]:
        """Queue these chats' pending stories as outbox rows (storage moves their cursors),
        all in one transaction."""
        now = self._clock()
        plan = claim_planner(
            self._log, limit=self._burst_limit, now=now, coalesce_after=self._coalesce_after
        )
        claims = await self._storage.claim_chats(chat_ids, plan, now, lease=self._lease())
        for claim in claims:
            self._pacer.note_chat(claim.chat_id, claim.chat_type)
            if claim.held_until is not None:
                # Another instance holds the chat's rows: its turn again once they are done.
                # It stays wanted meanwhile, so the watermark cannot pass its matches.
                self._pacer.hold(claim.chat_id, claim.held_until, now)
                self._queues.want([claim.chat_id])
                continue
            for row in claim.rows:
                self._queues.add(row.id, claim.chat_id, row.kind, max(now, row.not_before))
            if claim.more:
                self._queues.want([claim.chat_id])
            else:
                self._queues.dealt_with(claim.chat_id)
        return claims

    async def settle(self) -> None:
        """Move the watermark past the matches every chat has dealt with, and forget them:
        all logged ones once no chat waits for a turn; else those logged when a round began,
        once it is over."""
        if self._watermark is None or self._log.last_id <= self._watermark:
            return
        if not self._queues.wanting:
            through = self._log.last_id
        elif self._round_through is None:
            self._round_through = self._log.last_id
            self._queues.start_round()
            return
        elif self._queues.round_over:
            through = self._round_through
        else:
            return
        await self._storage.advance_watermark(through)
        self._watermark = through
        self._round_through = None
        self._log.drop_through(through)

    @property
    def logged(self) -> int:
        """Return how many matches the log holds (not yet dealt with by every chat)."""
        return len(self._log)
