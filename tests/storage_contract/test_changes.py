"""The contract of listening for changes: a stream opened starts at once and ends when told.
(What PostgreSQL announces, and that other instances apply it, is proved with several
instances in tests/test_postgres_changes.py; SQLite, one process, announces nothing.)"""

import asyncio

from bot.storage.changes import Change, ChangeKind
from tests.storage_contract.helpers import ANN, T0, Db


async def test_a_stream_runs_until_stopped_and_hears_only_changes(db: Db) -> None:
    stream = await db.storage.listen_changes()
    heard: list[Change] = []

    async def apply(change: Change) -> None:
        heard.append(change)

    stop = asyncio.Event()
    running = asyncio.create_task(stream.run(apply, stop))
    await db.storage.add_subscriptions(ANN, [("ukraine", "Ukraine")], limit=10, now=T0)
    stop.set()
    await running
    await stream.close()
    assert all(change.kind is not ChangeKind.RESYNC for change in heard)
