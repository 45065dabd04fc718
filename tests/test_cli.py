"""The command line as a user runs it: help, clean errors, `check` and `backup`."""

import logging
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import SecretRedactingFilter
from tests import corpus
from tests.feedserver import FeedServer, Item, rss

CORPUS_BBC = corpus.REAL / "bbc-rss-1.xml"
TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef"


def newshound(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m bot` with only the given environment (plus PATH)."""
    environment = {"PATH": os.environ.get("PATH", ""), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=60,
        check=False,
    )


def test_help_lists_every_subcommand() -> None:
    result = newshound("--help")
    assert result.returncode == 0
    for command in ("run", "check", "backup", "migrate-db"):
        assert command in result.stdout


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "BOT_TOKEN is not set"),
        ({"BOT_TOKEN": "oops"}, "BOT_TOKEN is malformed"),
        ({"BOT_TOKEN": TOKEN, "POLL_INTERVAL_SECONDS": "ten"}, "POLL_INTERVAL_SECONDS must be"),
        ({"BOT_TOKEN": TOKEN, "DATABASE_PATH": "/nonexistent/dir/db"}, "DATABASE_PATH"),
    ],
    ids=["missing token", "malformed token", "bad number", "unwritable database"],
)
def test_run_refuses_bad_settings_in_one_line(
    env: dict[str, str], message: str, tmp_path: Path
) -> None:
    result = newshound("run", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_dotenv_is_read_and_environment_wins(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"BOT_TOKEN={TOKEN}\nPOLL_INTERVAL_SECONDS=oops\n")
    from_file = newshound("run", cwd=tmp_path)
    assert "POLL_INTERVAL_SECONDS must be a whole number (got 'oops')" in from_file.stderr
    overridden = newshound(
        "run", env={"POLL_INTERVAL_SECONDS": "10", "DATABASE_PATH": "/nope/db"}, cwd=tmp_path
    )
    assert "DATABASE_PATH" in overridden.stderr


@pytest.mark.skipif(not CORPUS_BBC.exists(), reason="shared corpus not present")
def test_check_prints_matching_entries_from_a_file() -> None:
    result = newshound("check", "--feed", str(CORPUS_BBC), "--query", "Ukrain*")
    assert result.returncode == 0, result.stderr
    assert "Budget Ukrainian airline swaps high heels for trainers" in result.stdout
    assert "Matched: Ukrain*" in result.stdout
    assert result.stdout.rstrip().endswith("entries in BBC News - Home matched.")


@pytest.mark.parametrize(
    ("environment", "matched", "summary"),
    [
        ({"LANG": "uk_UA.UTF-8"}, "Знайдено за запитами: NATO", "Local: збігів — 1 з 2 записів."),
        # LC_ALL wins over LANG, as POSIX says; C is no language: English.
        (
            {"LANG": "uk_UA.UTF-8", "LC_ALL": "C"},
            "Matched: NATO",
            "1 of 2 entries in Local matched.",
        ),
        ({}, "Matched: NATO", "1 of 2 entries in Local matched."),
    ],
)
def test_check_speaks_the_shells_language(
    environment: dict[str, str], matched: str, summary: str, tmp_path: Path
) -> None:
    items = [
        Item(title="NATO summit opens", link="https://x.example/1", guid="1"),
        Item(title="Weather", link="https://x.example/2", guid="2"),
    ]
    feed = tmp_path / "local.xml"
    feed.write_bytes(rss(items, title="Local").encode())
    result = newshound("check", "--feed", str(feed), "--query", "NATO", env=environment)
    assert result.returncode == 0, result.stderr
    assert matched in result.stdout
    assert result.stdout.rstrip().endswith(summary)


@pytest.mark.skipif(not CORPUS_BBC.exists(), reason="shared corpus not present")
def test_check_reads_source_filters_and_near_as_subscribe_does() -> None:
    queries = ["source:bbc Ukrain*", "Ukrain* -source:bbc", "Ukrainian NEAR/1 airline"]
    args = [arg for query in queries for arg in ("--query", query)]
    result = newshound("check", "--feed", str(CORPUS_BBC), *args)
    assert result.returncode == 0, result.stderr
    assert "Matched: source:bbc Ukrain*, Ukrainian NEAR/1 airline" in result.stdout
    assert "-source:bbc" not in result.stdout


def test_check_fetches_a_url() -> None:
    items = [
        Item(
            title="NATO summit opens",
            link="https://x.example/1",
            guid="1",
            description="<p>Leaders <b>meet</b>.</p>",
        ),
        Item(title="Weather", link="https://x.example/2", guid="2", description="Rain."),
    ]
    with FeedServer() as server:
        server.set_feed("/f.xml", rss(items, title="Local"))
        result = newshound(
            "check", "--feed", server.url("/f.xml"), "--query", "nato source:127.0.0.1"
        )
    assert result.returncode == 0, result.stderr
    assert "NATO summit opens\nLocal" in result.stdout
    assert "Leaders meet." in result.stdout
    assert "https://x.example/1" in result.stdout
    assert "Weather" not in result.stdout
    assert "1 of 2 entries in Local matched." in result.stdout
    assert "Matched: nato source:127.0.0.1" in result.stdout  # the feed's host


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--query", '"open quote'], "is not valid: a quote is not closed"),
        (["--query", "a NEAR/3 b NEAR/3 c"], "is not valid: NEAR joins two terms only"),
        (["--feed", "/no/such/file.xml"], "cannot read /no/such/file.xml"),
    ],
    ids=["bad query", "NEAR chain", "missing file"],
)
def test_check_explains_bad_input(args: list[str], message: str, tmp_path: Path) -> None:
    feed = tmp_path / "f.xml"
    feed.write_text(rss([Item(title="x", link="https://x.example/", guid="1")]))
    full = ["--feed", str(feed), "--query", "x", *args]
    result = newshound("check", *full)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_backup_copies_the_database_privately(tmp_path: Path) -> None:
    database = tmp_path / "live.sqlite3"
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE t (x)")
        connection.execute("INSERT INTO t VALUES (42)")
    copy = tmp_path / "copy.sqlite3"
    result = newshound("backup", str(copy), env={"DATABASE_PATH": str(database)})
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(copy) as connection:
        assert connection.execute("SELECT x FROM t").fetchall() == [(42,)]
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    onto_itself = newshound("backup", str(database), env={"DATABASE_PATH": str(database)})
    assert onto_itself.returncode == 2
    assert "another file" in onto_itself.stderr
    on_postgresql = newshound(
        "backup",
        str(tmp_path / "other.sqlite3"),
        env={"DATABASE_PATH": str(database), "DATABASE_URL": "postgresql://bot@db/newshound"},
    )
    assert on_postgresql.returncode == 2
    assert "with DATABASE_URL set, back up PostgreSQL with pg_dump" in on_postgresql.stderr
    assert not (tmp_path / "other.sqlite3").exists()


def test_check_into_a_closed_pipe_stops_quietly(tmp_path: Path) -> None:
    # `newshound check … | head`: the reader leaves after a few lines. The output (about
    # 1 MB) is far bigger than a pipe's buffer, so the write after the close must fail.
    items = [
        Item(title=f"NATO story {n}", link=f"https://x.example/{n}", guid=str(n),
             description="<p>" + "Leaders meet again and talk at length. " * 5 + "</p>")
        for n in range(3000)
    ]  # fmt: skip
    feed = tmp_path / "big.xml"
    feed.write_text(rss(items, title="Local"), encoding="utf-8")
    with subprocess.Popen(
        [sys.executable, "-m", "bot", "check", "--feed", str(feed), "--query", "nato"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={"PATH": os.environ.get("PATH", "")},
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        assert process.stdout.readline().startswith(b"NATO story")
        process.stdout.close()
        stderr = process.stderr.read().decode()
        status = process.wait(timeout=60)
    assert "Traceback" not in stderr
    assert "BrokenPipeError" not in stderr
    assert stderr == ""
    assert status == 141, "the status a shell shows for a tool whose reader went away"


def test_the_token_and_the_webhook_secret_never_reach_a_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    token, secret = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef", "hook-secret-0123456789"
    redact = SecretRedactingFilter({token: "<BOT_TOKEN>", secret: "<WEBHOOK_SECRET>", "": "x"})
    logger = logging.getLogger("tests.redaction")
    logger.addFilter(redact)
    try:
        with caplog.at_level(logging.DEBUG, logger="tests.redaction"):
            # As PTB logs a call at DEBUG: the URL holds the token, the parameters the secret.
            logger.debug("POST /bot%s/setWebhook with `%s`", token, {"secret_token": secret})
            try:
                raise ValueError(f"secret_token={secret}")
            except ValueError:
                logger.exception("failed")
    finally:
        logger.removeFilter(redact)
    logged = caplog.text
    assert token not in logged and secret not in logged
    assert "POST /bot<BOT_TOKEN>/setWebhook" in logged
    assert "'secret_token': '<WEBHOOK_SECRET>'" in logged
    assert "secret_token=<WEBHOOK_SECRET>" in logged
