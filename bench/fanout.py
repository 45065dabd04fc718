"""Fan-out on read outside the worker: claim chats' pending stories as the worker would.

Benchmarks that measure storage without a Telegram fake use this to turn stored matches into
outbox rows through the production claim (storage.claim_chat with the production planner).
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.delivery.fanout import MatchLog, claim_planner
from bot.storage import Storage


async def claim_chats(
    storage: Storage, chats: Iterable[int], now: float, burst_limit: int
) -> tuple[int, int]:
    """Give every listed chat turns until nothing is pending; return the outbox rows queued
    and the turns (claims) it took."""
    log = MatchLog()
    log.last_id = await storage.delivery_watermark()
    while page := await storage.story_matches(log.last_id, 1_000):
        log.add(page)

    plan = claim_planner(log, limit=burst_limit, now=now)

    queued = turns = 0
    for chat_id in chats:
        while True:
            claim = await storage.claim_chat(chat_id, plan, now)
            queued += len(claim.rows)
            turns += 1
            if not claim.more:
                break
    return queued, turns
