"""`newshound feeds import|export FILE` as an operator runs it, against local feeds."""

import os
import subprocess
import sys
from pathlib import Path

from bot.ingest.opml import OpmlFeed, read_opml
from bot.storage.sqlite import SqliteStorage
from tests.feedserver import FeedServer, make_item, rss
from tests.test_opml import BILLION_LAUGHS

ROOT = Path(__file__).resolve().parents[1]


def newshound(
    *args: str, env: dict[str, str], stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    """Run this checkout's `python -m bot` with only the given environment (plus PATH)."""
    environment = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), **env}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        env=environment,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def _opml(server: FeedServer) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><body>
  <outline text="News">
    <outline text="Local" xmlUrl="{server.url("/local.xml")}"/>
  </outline>
  <outline text="Gone" xmlUrl="{server.url("/gone.xml")}"/>
</body></opml>""".encode()


async def _stored(database: Path) -> list[tuple[str, str]]:
    storage = await SqliteStorage.open(database)
    try:
        return [(feed.url, feed.title) for feed in await storage.list_feeds()]
    finally:
        await storage.close()


async def test_import_from_a_file_then_export_to_stdout(tmp_path: Path) -> None:
    database = tmp_path / "db.sqlite3"
    env = {"DATABASE_PATH": str(database), "ALLOW_PRIVATE_FEEDS": "true"}
    with FeedServer() as server:
        server.set_feed("/local.xml", rss([make_item(1), make_item(2)], title="Local News"))
        listing = tmp_path / "feeds.opml"
        listing.write_bytes(_opml(server))
        imported = newshound("feeds", "import", str(listing), env=env)
        report = imported.stdout.decode()
        assert imported.returncode == 1, imported.stderr  # one refused
        assert report.startswith("Import finished: 1 added, 0 already watched, 1 refused.")
        assert f"• Local News ({server.url('/local.xml')})" in report
        assert f"• {server.url('/gone.xml')}: could not fetch" in report
        assert b"Traceback" not in imported.stderr
        # Again from standard input: nothing new, and nothing refused that is watched.
        again = newshound("feeds", "import", "-", env=env, stdin=_opml(server))
        assert again.stdout.decode().startswith("Import finished: 0 added, 1 already watched")
        local = server.url("/local.xml")
    assert await _stored(database) == [(local, "Local News")]
    exported = newshound("feeds", "export", "-", env=env)
    assert exported.returncode == 0, exported.stderr
    assert read_opml(exported.stdout) == [OpmlFeed(local, "Local News")]
    assert exported.stderr.decode() == "Exported 1 feed to -\n"


async def test_export_to_a_file_round_trips_through_import(tmp_path: Path) -> None:
    source, copy = tmp_path / "source.sqlite3", tmp_path / "copy.sqlite3"
    with FeedServer() as server:
        storage = await SqliteStorage.open(source)
        try:
            for n in range(3):
                server.set_feed(f"/{n}.xml", rss([make_item(n)], title=f"Feed {n}"))
                await storage.add_feed(server.url(f"/{n}.xml"), 0.0, trusted=False, title=f"F{n}")
        finally:
            await storage.close()
        target = tmp_path / "out.opml"
        exported = newshound("feeds", "export", str(target), env={"DATABASE_PATH": str(source)})
        assert exported.returncode == 0, exported.stderr
        env = {"DATABASE_PATH": str(copy), "ALLOW_PRIVATE_FEEDS": "true"}
        imported = newshound("feeds", "import", str(target), env=env)
        assert imported.returncode == 0, imported.stdout + imported.stderr
        expected = [(server.url(f"/{n}.xml"), f"Feed {n}") for n in range(3)]
    # The copy watches the same feeds in the same order; titles are the feeds' own.
    assert await _stored(copy) == expected


def test_import_keeps_the_ssrf_guard(tmp_path: Path) -> None:
    database = tmp_path / "db.sqlite3"
    with FeedServer() as server:
        server.set_feed("/local.xml", rss([make_item(1)], title="Local News"))
        refused = newshound(
            "feeds", "import", "-", env={"DATABASE_PATH": str(database)}, stdin=_opml(server)
        )
        assert refused.returncode == 1
        assert "non-public network 127.0.0.0/8" in refused.stdout.decode()
        assert server.hits("/local.xml") == 0


def test_unusable_files_and_settings_are_one_line_and_exit_2(tmp_path: Path) -> None:
    env = {"DATABASE_PATH": str(tmp_path / "db.sqlite3")}
    cases = [
        (("feeds", "import", "-"), env, BILLION_LAUGHS, "declares a DTD or entities"),
        (("feeds", "import", "-"), env, b"<rss/>", "XML but not OPML"),
        (("feeds", "import", "-"), env, b" " * (1024 * 1024 + 10), "at most 1024 KB"),
        (("feeds", "import", str(tmp_path / "nope.opml")), env, b"", "No such file"),
        (("feeds", "export", "-"), env, b"", "no database at"),
        (("feeds", "import", "-"), {**env, "FETCH_CONCURRENCY": "0"}, b"", "FETCH_CONCURRENCY"),
    ]
    for args, environment, stdin, message in cases:
        result = newshound(*args, env=environment, stdin=stdin)
        stderr = result.stderr.decode()
        assert result.returncode == 2, (args, stderr)
        assert stderr.startswith("newshound: error: ") and stderr.count("\n") == 1, stderr
        assert message in stderr, stderr
    assert not (tmp_path / "db.sqlite3").exists()
