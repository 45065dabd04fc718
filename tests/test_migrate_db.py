"""`newshound migrate-db --to URL`: a SQLite database copied into PostgreSQL, as a user runs it."""

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.matching.dryrun import search
from bot.matching.query import parse_query
from bot.storage import ChatSchedule, ChatSeen, ChatType, Delivery, Storage
from bot.storage.edits import DueEdits
from bot.storage.postgres import PostgresStorage
from bot.storage.sqlite import SqliteStorage
from tests.postgres import SKIP_REASON, TEST_DATABASE_URL, fresh_schema
from tests.storage_contract.helpers import (
    ANN,
    BOB,
    HOUR,
    T0,
    Audience,
    Db,
    add_feed,
    candidate,
    everyone,
    fan_out,
    private,
    save,
)
from tests.storage_contract.sqlite_peek import SqlitePeek

GROUP = -1001
CHANNEL = -1002
TALKS = "https://news.example/ukraine-talks"
# A bound, not an expectation: the command starts Python and the bot's imports, which on a
# machine shared by many test runs has taken tens of seconds.
RUN_TIMEOUT = 180.0


async def newshound(database: Path, *args: str) -> tuple[int, str, str]:
    """Run `python -m bot` with DATABASE_PATH set; return its status, stdout and stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={"PATH": os.environ.get("PATH", ""), "DATABASE_PATH": str(database)},
    )
    out, err = await asyncio.wait_for(process.communicate(), RUN_TIMEOUT)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.fixture
async def url() -> AsyncIterator[str]:
    if TEST_DATABASE_URL is None:
        pytest.skip(SKIP_REASON)
    async with fresh_schema() as opened:
        yield opened


async def a_lived_in_database(path: Path) -> None:
    """Chats, feeds, stories (and a repeat), matches (some already dealt with), outbox rows
    in every state, a broadcast, a schedule, a mute, a hidden feed, a linked channel and an
    edit of a sent alert (its story came from another outlet)."""
    storage = await SqliteStorage.open(path)
    try:
        db = Db(storage, SqlitePeek(path))
        for chat in (ANN, BOB):
            await storage.register_chat(private(chat), T0)
        await storage.register_chat(ChatSeen(GROUP, ChatType.SUPERGROUP, "Team", None, "uk"), T0)
        await storage.set_chat_language(ANN, "uk", T0)
        channel = ChatSeen(CHANNEL, ChatType.CHANNEL, "News", "news_ua", None)
        await storage.link_channel(channel, ANN, T0)
        await storage.set_channel_matched_line(CHANNEL, True)
        feed, other = await add_feed(db, "a"), await add_feed(db, "b")
        audience = Audience({ANN: ("Ukraine",), BOB: ("Ukraine", "NATO"), GROUP: ("NATO",)})
        await save(db, feed, candidate(feed, "Ukraine talks", link=TALKS), candidate(feed, "NATO"))
        # Another outlet's copy (the same link): a repeat, which matching does not run on.
        await save(db, other, candidate(other, "Ukraine copy", link=TALKS))
        await save(db, feed, candidate(feed, "Ukraine later"), match=audience, now=T0 + HOUR)
        # Every match dealt with: the watermark deleted them all, SQLite's sequence remembers.
        await save(db, other, candidate(other, "NATO meets again"), match=audience)
        rows = db.outbox()
        await storage.record_deliveries(
            [
                # The alert about "Ukraine talks", which the copy queued an edit of.
                Delivery(rows[0]["id"], rows[0]["chat_id"], "sent", 1, message_id=41),
                Delivery(rows[1]["id"], rows[1]["chat_id"], "failed", 3, error="400"),
            ],
            T0 + HOUR,
        )
        draft = await storage.create_broadcast(ANN, "Hello <b>all</b>", T0)
        await storage.confirm_broadcast(draft.id, ANN, T0 + 60)
        await storage.save_schedule(
            ANN,
            ChatSchedule("Europe/Kyiv", (23 * 60, 7 * 60), (8 * 60,)),
            release_held_at=0,
            now=T0,
        )
        [first, *_] = await storage.list_subscriptions(BOB)
        await storage.mute_subscription(BOB, first.id, T0 + 8 * HOUR)
        await storage.hide_feed(BOB, other.id, T0)
        await storage.index_story_texts(100)
    finally:
        await storage.close()


async def what_it_holds(storage: Storage) -> dict[str, object]:
    """Everything the protocols read, for comparing two databases."""
    subscriptions = await storage.all_subscriptions()
    return {
        "chats": [await storage.get_chat(c) for c in (ANN, BOB, GROUP, CHANNEL)],
        "channels": await storage.channels_linked_by(ANN),
        "edits": await storage.due_alert_edits(T0 + 2 * HOUR, 10),
        "feeds": await storage.list_feeds(),
        "subscriptions": subscriptions,
        "muted": await storage.muted_subscriptions(BOB, T0),
        "hidden": await storage.hidden_feeds(BOB),
        "schedule": await storage.get_schedule(ANN),
        "outbox": await storage.load_outbox(range(1, 100)),
        "counts": await storage.outbox_counts(),
        "broadcasts": await storage.broadcasts_in_progress(),
        "watermark": await storage.delivery_watermark(),
        "matches": await storage.story_matches(0, 100),
        "stats": (await storage.stats(T0 + HOUR)).chats,
    }


async def test_migrate_db_copies_every_table_and_the_bot_carries_on(
    tmp_path: Path, url: str
) -> None:
    database = tmp_path / "bot.sqlite3"
    await a_lived_in_database(database)
    status, out, err = await newshound(database, "migrate-db", "--to", url)
    assert status == 0, f"{out}\n{err}"
    assert "every count checked" in out
    assert "story_matches: 0 rows" in out
    sqlite = await SqliteStorage.open(database)
    postgres = await PostgresStorage.open(url)
    try:
        held = await what_it_holds(postgres)
        assert held == await what_it_holds(sqlite)
        assert held["outbox"] and held["muted"] and held["hidden"] and held["watermark"]
        edits, channels = held["edits"], held["channels"]
        assert isinstance(edits, DueEdits) and isinstance(channels, list)
        [edit] = edits.edits
        assert (edit.message_id, [link for _, link in edit.alert.also]) == (41, [TALKS])
        assert [(c.chat.id, c.linked_by, c.show_matched) for c in channels] == [
            (CHANNEL, ANN, True)
        ]
        # The dry run's texts came along and are indexed again (a tsvector, not FTS5).
        assert await postgres.index_story_texts(100) == await sqlite.index_story_texts(0) + 4
        ask = search(parse_query("Ukraine")).candidates
        assert len(await postgres.search_story_ids(ask, 0)) == 2
        # Ids go on after the copied ones, match ids after every id SQLite ever gave (the
        # watermark deleted them): a new match is not taken for one every chat dealt with.
        db = Db(postgres, SqlitePeek(database))
        feed = (await postgres.list_feeds())[0]
        await save(db, feed, candidate(feed, "Ukraine next"), match=everyone(ANN), deliver=False)
        newest = (await postgres.story_matches(0, 100))[-1]
        assert newest.id > await sqlite.delivery_watermark()
        claims = await fan_out(postgres, T0 + 2 * HOUR)
        assert [(c.chat_id, len(c.rows)) for c in claims if c.rows] == [(ANN, 1)]
    finally:
        await sqlite.close()
        await postgres.close()
    again = await newshound(database, "migrate-db", "--to", url)
    assert again[0] == 2, again
    assert "already holds Newshound data" in again[2]


async def test_migrate_db_refuses_what_it_cannot_use_in_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "none.sqlite3"
    status, _, err = await newshound(missing, "migrate-db", "--to", "postgresql://x@127.0.0.1:1/n")
    assert (status, err.strip()) == (
        2,
        f"newshound: error: there is no database at {missing} (DATABASE_PATH) to copy",
    )
    assert not missing.exists()
    database = tmp_path / "bot.sqlite3"
    await a_lived_in_database(database)
    status, _, err = await newshound(database, "migrate-db", "--to", "mysql://db/newshound")
    assert status == 2
    assert err.startswith("newshound: error: --to must be a postgresql:// URL")
    status, _, err = await newshound(
        database, "migrate-db", "--to", "postgresql://bot:secret@127.0.0.1:1/newshound"
    )
    assert status == 2
    assert err.startswith("newshound: error: DATABASE_URL postgresql://bot:***@127.0.0.1:1/")
    assert "secret" not in err and "Traceback" not in err
