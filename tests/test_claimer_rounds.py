"""The claimer's watermark under an overload: it moves by rounds, so the matches it keeps in
memory (and the database keeps) stay about a round's worth however long some chat waits."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.delivery.claimer import Claimer
from bot.delivery.pacing import ChatPacer, ChatQueues
from bot.storage import PollToSave
from bot.storage.sqlite import SqliteStorage
from tests.clocks import StoppedClock
from tests.storage_contract.helpers import T0, candidate, private

ANN, BOB = 8001, 8002
QUERY = "ukraine"


class Turns:
    """The delivery worker's part, by hand: stored matches in, chats' turns, sends."""

    def __init__(self, storage: SqliteStorage, clock: StoppedClock) -> None:
        self.storage = storage
        self.clock = clock
        self.pacer = ChatPacer()
        self.queues = ChatQueues(self.pacer, clock)
        subscribers = {ANN: None, BOB: None}
        self.claimer = Claimer(
            storage,
            lambda query: subscribers if query == QUERY else {},
            self.queues,
            self.pacer,
            clock,
            burst_limit=10,
        )

    async def publish(self, title: str) -> None:
        [feed] = await self.storage.list_feeds()
        poll = PollToSave(
            feed_id=feed.id,
            url=feed.url,
            title="Wire",
            etag=None,
            last_modified=None,
            next_poll_at=self.clock() + 300,
            now=self.clock(),
            alerts_enabled=True,
            stories=(candidate(feed, title),),
        )
        await self.storage.save_poll(poll, lambda _: (QUERY,))
        await self.claimer.load()

    async def turn(self) -> dict[int, list[str]]:
        """Give the chats whose turn came and whose pacing allows it their claims, send what
        they queued, then settle: {chat: titles claimed}."""
        picked = self.queues.pick_claims(10)
        claims = await self.claimer.claim(picked)
        for chat_id in picked:
            self.queues.release(chat_id)
        titles: dict[int, list[str]] = {}
        for claim in claims:
            items = await self.storage.load_outbox([row.id for row in claim.rows])
            titles[claim.chat_id] = [item.title for item in items]
        while sent := self.queues.pick(10):
            for chat_id in sent.values():
                self.queues.release(chat_id)
        await self.claimer.settle()
        return titles

    async def turns_of(self, chat_id: int) -> list[str]:
        """Give turns (a second apart) until the chat has claimed all it has pending;
        return the titles it claimed. Other chats take their turns meanwhile."""
        titles: list[str] = []
        for _ in range(100):
            titles += (await self.turn()).get(chat_id, [])
            if not self.queues.waits_for_turn(chat_id):
                return titles
            self.clock.advance(1)
        raise AssertionError(f"chat {chat_id} still waits: {titles}")

    async def until_idle(self) -> dict[int, list[str]]:
        """Give turns (a second apart) until no chat waits; return what each claimed."""
        claimed: dict[int, list[str]] = {}
        for _ in range(100):
            for chat_id, titles in (await self.turn()).items():
                claimed.setdefault(chat_id, []).extend(titles)
            if not self.queues.wanting:
                return claimed
            self.clock.advance(1)
        raise AssertionError(f"chats still wait: {claimed}")

    def hold(self, chat_id: int, seconds: float) -> None:
        """Telegram's pacing keeps the chat waiting this long (its turn stays due)."""
        self.pacer.hold(chat_id, self.clock() + seconds, self.clock())


@pytest.fixture
async def turns(tmp_path: Path) -> AsyncIterator[Turns]:
    storage = await SqliteStorage.open(tmp_path / "newshound.sqlite3")
    try:
        await storage.add_feed("https://wire.example/feed.xml", T0, trusted=True)
        for chat_id in (ANN, BOB):
            await storage.register_chat(private(chat_id), now=T0)
            await storage.add_subscriptions(chat_id, [(QUERY, "Ukraine")], limit=10, now=T0)
        yield Turns(storage, StoppedClock())
    finally:
        await storage.close()


async def test_the_watermark_moves_by_rounds_while_some_chat_always_waits(turns: Turns) -> None:
    await turns.publish("Ukraine one")
    first_match = await turns.storage.delivery_watermark() + 1
    turns.hold(BOB, 60)
    assert await turns.turn() == {ANN: ["Ukraine one"]}
    assert await turns.storage.delivery_watermark() < first_match, "Bob has not had his turn"

    # A new story before Bob's turn: someone always waits from here on.
    await turns.publish("Ukraine two")
    turns.hold(ANN, 600)
    turns.clock.advance(60)
    assert await turns.turns_of(BOB) == ["Ukraine one", "Ukraine two"]  # a message a turn
    # Everyone waiting when the round began has finished a claim since: the first story's
    # match is dealt with by all, though Ann still waits for the second.
    assert turns.queues.wanting == 1
    assert await turns.storage.delivery_watermark() == first_match
    assert turns.claimer.logged == 1, "only the second story's match is kept"

    await turns.publish("Ukraine three")
    turns.clock.advance(600)
    assert await turns.until_idle() == {
        ANN: ["Ukraine two", "Ukraine three"],
        BOB: ["Ukraine three"],
    }
    assert (turns.queues.wanting, turns.claimer.logged) == (0, 0)
    assert await turns.storage.delivery_watermark() == first_match + 2


async def test_a_chat_that_has_not_had_its_turn_holds_the_watermark(turns: Turns) -> None:
    turns.hold(BOB, 3600)
    for minute in range(6):
        await turns.publish(f"Ukraine {minute}")
        await turns.turns_of(ANN)
        turns.clock.advance(60)
    assert await turns.storage.delivery_watermark() == 0, "Bob still needs them all"
    assert turns.claimer.logged == 6

    turns.clock.advance(3600)
    assert await turns.turns_of(BOB) == [f"Ukraine {minute}" for minute in range(6)]
    assert turns.claimer.logged == 0
