"""/healthz's verdicts as pure functions, the event-loop watch, and the metrics registry."""

import asyncio
import time

import prometheus_client
from prometheus_client.parser import text_string_to_metric_families

from bot.storage import Backlog
from bot.web.health import (
    DELIVERY_STALL_SECONDS,
    OK,
    HealthReport,
    LoopWatch,
    delivery_verdict,
    loop_verdict,
)
from bot.web.metrics import PrometheusMetrics
from tests.e2e import eventually

NOW = 1_800_000_000.0
STALL = DELIVERY_STALL_SECONDS


def test_a_report_is_healthy_only_when_every_check_is_ok() -> None:
    good = HealthReport({"event_loop": OK, "database": OK})
    bad = HealthReport({"event_loop": OK, "database": "disk full"})
    assert good.healthy and not bad.healthy
    assert bad.body() == {
        "status": "unhealthy",
        "checks": {"event_loop": OK, "database": "disk full"},
    }


def test_the_loop_is_judged_by_its_worst_recent_lag() -> None:
    assert loop_verdict(0.9, limit=1.0) == OK
    assert loop_verdict(1.0, limit=1.0) == OK
    assert loop_verdict(1.26, limit=1.0) == "the event loop was blocked for 1.3 s (limit 1 s)"


def test_delivery_is_stalled_only_when_work_waits_and_nothing_moves() -> None:
    old = NOW - STALL - 1
    assert delivery_verdict(Backlog(), NOW, last_progress_at=0.0) == OK, "nothing to do"
    assert delivery_verdict(Backlog(3, old), NOW, last_progress_at=NOW - 1) == OK, "moving"
    assert delivery_verdict(Backlog(3, NOW - STALL), NOW, 0.0) == OK, "not waited long enough"
    # Held rows (a retry's backoff, a held digest) are pending but not due: not a stall.
    assert delivery_verdict(Backlog(pending_rows=3), NOW, last_progress_at=0.0) == OK
    assert delivery_verdict(Backlog(1, old), NOW, last_progress_at=old) == (
        "stalled: work has waited 301 s and no send has ended for 301 s"
    )
    unclaimed = Backlog(waiting_matches=2, oldest_match_at=old)
    assert delivery_verdict(unclaimed, NOW, last_progress_at=old).startswith("stalled")


async def test_the_loop_watch_sees_a_blocked_loop() -> None:
    watch = LoopWatch()
    stop = asyncio.Event()
    task = asyncio.create_task(watch.run(stop))
    try:
        await eventually(lambda: watch.ticks >= 1, 5.0)
        assert watch.worst_lag() < 1.0
        # The condition under test: a callback that hogs the loop.
        asyncio.get_running_loop().call_soon(time.sleep, 1.5)
        await eventually(lambda: watch.worst_lag() >= 1.0, 5.0)
        assert loop_verdict(watch.worst_lag(), limit=0.9) != OK
    finally:
        stop.set()
        await task


def test_metrics_live_in_their_own_registry_and_carry_no_chat() -> None:
    first, second = PrometheusMetrics(lambda: NOW), PrometheusMetrics(lambda: NOW)
    first.feed_polled(7, "error", 0.3)
    first.send_finished("sent")
    first.set_backlog(Backlog(5, NOW - 40, 2, NOW - 90), NOW)
    body, content_type = first.exposition(None)

    assert content_type.startswith("text/plain")
    values = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }
    assert values[("newshound_feed_errors_total", (("feed_id", "7"),))] == 1
    assert values[("newshound_feed_polls_total", (("feed_id", "7"), ("outcome", "error")))] == 1
    assert values[("newshound_sends_total", (("outcome", "blocked"),))] == 0
    assert values[("newshound_outbox_pending_rows", ())] == 5
    assert values[("newshound_outbox_oldest_due_age_seconds", ())] == 40
    assert values[("newshound_matches_oldest_age_seconds", ())] == 90
    assert first.last_send_at == NOW and second.last_send_at is None
    assert b"newshound" not in prometheus_client.generate_latest(prometheus_client.REGISTRY)
