"""The update processor: each chat's updates in order, chats side by side, within a bound."""

import asyncio
from datetime import UTC, datetime
from itertools import count

from telegram import Chat, Message, Update

from bot.updates.traffic import ChatOrderedProcessor, slot_released

WAIT = 30.0
_ids = count(1)


def update_from(chat_id: int) -> Update:
    """A text message update in a private chat."""
    n = next(_ids)
    chat = Chat(chat_id, Chat.PRIVATE)
    return Update(n, message=Message(n, datetime.now(UTC), chat, text=f"/cmd{n}"))


class Script:
    """Handlers that note when they start and finish, and finish when told to."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.started: dict[str, asyncio.Event] = {}
        self.go: dict[str, asyncio.Event] = {}

    def prepare(self, name: str) -> None:
        self.started[name] = asyncio.Event()
        self.go[name] = asyncio.Event()

    async def run(self, name: str, *, blocks: bool = False, lends: bool = False) -> None:
        self.log.append(f"{name} start")
        self.started[name].set()
        if blocks:
            if lends:
                async with slot_released():
                    await self.go[name].wait()
            else:
                await self.go[name].wait()
        self.log.append(f"{name} end")

    async def started_all(self, *names: str) -> None:
        for name in names:
            await asyncio.wait_for(self.started[name].wait(), WAIT)


def process(
    processor: ChatOrderedProcessor, chat_id: int, script: Script, name: str, **how: bool
) -> "asyncio.Task[None]":
    """Hand the processor one update, the way PTB's Application does (a task per update)."""

    script.prepare(name)
    coroutine = script.run(name, **how)
    return asyncio.create_task(processor.process_update(update_from(chat_id), coroutine))


async def test_one_chats_updates_run_in_order_while_other_chats_go_ahead() -> None:
    processor = ChatOrderedProcessor(concurrency=4)
    script = Script()
    first = process(processor, 1, script, "a1", blocks=True)
    second = process(processor, 1, script, "a2")
    other = process(processor, 2, script, "b1")
    await asyncio.wait_for(other, WAIT)  # chat 2 is answered while chat 1's first update runs
    assert script.log == ["a1 start", "b1 start", "b1 end"]
    script.go["a1"].set()
    await asyncio.wait_for(asyncio.gather(first, second), WAIT)
    assert script.log[3:] == ["a1 end", "a2 start", "a2 end"]


async def test_a_hundred_updates_of_one_chat_keep_their_order() -> None:
    processor = ChatOrderedProcessor(concurrency=8)
    script = Script()
    tasks = [process(processor, 1, script, f"u{n}") for n in range(100)]
    await asyncio.wait_for(asyncio.gather(*tasks), WAIT)
    assert script.log == [f"u{n} {step}" for n in range(100) for step in ("start", "end")]


async def test_no_more_than_the_bound_run_at_once() -> None:
    processor = ChatOrderedProcessor(concurrency=2)
    script = Script()
    tasks = [process(processor, chat, script, f"c{chat}", blocks=True) for chat in (1, 2, 3)]
    await script.started_all("c1", "c2")
    assert "c3 start" not in script.log, "a third chat ran beyond the bound of 2"
    script.go["c1"].set()
    await script.started_all("c3")
    for name in ("c2", "c3"):
        script.go[name].set()
    await asyncio.wait_for(asyncio.gather(*tasks), WAIT)
    assert script.log.index("c1 end") < script.log.index("c3 start")


async def test_an_update_that_only_waits_lends_its_slot_and_keeps_its_chats_turn() -> None:
    processor = ChatOrderedProcessor(concurrency=1)
    script = Script()
    waiting = process(processor, 1, script, "a1", blocks=True, lends=True)
    after = process(processor, 1, script, "a2")
    other = process(processor, 2, script, "b1")
    await asyncio.wait_for(other, WAIT)  # ran in the slot chat 1 lent while waiting
    assert "a2 start" not in script.log, "chat 1's next update overtook the waiting one"
    script.go["a1"].set()
    await asyncio.wait_for(asyncio.gather(waiting, after), WAIT)
    assert script.log == ["a1 start", "b1 start", "b1 end", "a1 end", "a2 start", "a2 end"]


async def test_idle_chats_are_forgotten() -> None:
    processor = ChatOrderedProcessor(concurrency=4)
    script = Script()
    busy = process(processor, 1, script, "a1", blocks=True)
    done = [process(processor, chat, script, f"c{chat}") for chat in range(2, 50)]
    await asyncio.wait_for(asyncio.gather(*done), WAIT)
    assert processor.active_chats == 1
    script.go["a1"].set()
    await asyncio.wait_for(busy, WAIT)
    assert processor.active_chats == 0
