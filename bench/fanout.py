"""Fan-out on read outside the worker: claim chats' pending stories as the worker would.

Benchmarks that measure storage without a Telegram fake use this to turn stored matches into
outbox rows through the production claim (storage.claim_chat with the production planner).
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.delivery.burst import plan_claim
from bot.delivery.fanout import MatchLog, pending_stories
from bot.storage import ChatWork, ClaimPlan, Storage


async def claim_chats(
    storage: Storage, chats: Iterable[int], now: float, burst_limit: int
) -> tuple[int, int]:
    """Give every listed chat turns until nothing is pending; return the outbox rows queued
    and the turns (claims) it took."""
    log = MatchLog()
    log.last_id = await storage.delivery_watermark()
    while page := await storage.story_matches(log.last_id, 1_000):
        log.add(page)

    def plan(work: ChatWork) -> ClaimPlan:
        return plan_claim(
            pending_stories(log, work.subscriptions, work.cursor),
            recent_alerts=work.recent_alerts,
            limit=burst_limit,
            now=now,
            through=log.last_id,
        )

    queued = turns = 0
    for chat_id in chats:
        while True:
            claim = await storage.claim_chat(chat_id, plan, now)
            queued += len(claim.rows)
            turns += 1
            if not claim.more:
                break
    return queued, turns
