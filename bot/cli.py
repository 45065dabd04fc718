"""Command line: `newshound run` and the other subcommands, with clean errors."""

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from telegram.error import InvalidToken

from bot import __version__
from bot.app import BackgroundTaskCrashed, run_bot
from bot.check import CheckError, run_check
from bot.cli_data import (
    backup_command,
    fail,
    feeds_command,
    migrate_db_command,
)
from bot.config import ConfigError, Settings, load_from_process
from bot.config_tools import shell_language
from bot.i18n import locale_for, use_locale
from bot.receiving import PollingConflict, WebhookRefused
from bot.storage import StorageError
from bot.web.server import ListenError

# Distinct, so a supervisor can be told not to restart into the same conflict (systemd:
# RestartPreventExitStatus=3).
EXIT_CONFLICT = 3
# A background task (poller, delivery, maintenance) died of a bug: a supervisor should restart.
EXIT_CRASHED = 1
# 128 + SIGPIPE: what a shell reports for cat or grep when their reader goes away (`| head`),
# so a pipeline with `set -o pipefail` sees Newshound stop like any other tool; 0 would
# claim the whole output was delivered.
EXIT_BROKEN_PIPE = 141


class SecretRedactingFilter(logging.Filter):
    """Replace secrets in every log record: the bot token is part of every Bot API URL, and
    PTB's debug lines show setWebhook's parameters (the webhook secret among them)."""

    def __init__(self, secrets: Mapping[str, str]) -> None:
        super().__init__()
        # Each secret and what it is replaced with; empty ones (unset) are left out.
        self._secrets = {secret: name for secret, name in secrets.items() if secret}

    def _redacted(self, text: str) -> str:
        for secret, name in self._secrets.items():
            text = text.replace(secret, name)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret in message for secret in self._secrets):
            record.msg = self._redacted(message)
            record.args = None
        if record.exc_info and record.exc_text is None:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redacted(record.exc_text)
        return True


def configure_logging(settings: Settings) -> None:
    """Log to stderr at LOG_LEVEL, with the token and the webhook secret redacted and httpx's
    URL lines quiet."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(
        SecretRedactingFilter(
            {
                settings.bot_token: "<BOT_TOKEN>",
                settings.webhook_secret or "": "<WEBHOOK_SECRET>",
            }
        )
    )
    logging.basicConfig(level=settings.log_level, handlers=[handler], force=True)
    # httpx logs every request URL at INFO, and Bot API URLs carry the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # With max_retries=0 the limiter logs every 429 as an exception; the delivery worker
    # handles and logs them itself.
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)


def build_parser() -> argparse.ArgumentParser:
    """Describe every subcommand for --help."""
    parser = argparse.ArgumentParser(
        prog="newshound",
        description="Newshound: a Telegram bot that alerts subscribers to new news stories "
        "matching their queries. Settings come from the environment and .env "
        "(see .env.example).",
    )
    parser.add_argument("--version", action="version", version=f"newshound {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "run",
        help="start the bot (long polling) until interrupted",
        description="Start the bot with long polling; stop with Ctrl-C or SIGTERM.",
    )
    check = commands.add_parser(
        "check",
        help="show which entries of a feed match queries, as alerts in plain text",
        description="Fetch a feed URL (or read a file) once and print, for each entry that "
        "matches a query, the alert a subscriber would get. Needs no token and no database.",
    )
    check.add_argument("--feed", required=True, metavar="URL_OR_FILE", help="feed URL or file")
    check.add_argument(
        "--query",
        required=True,
        action="append",
        metavar="QUERY",
        help="a subscription query, e.g. --query '\"Joe Biden\" -football'; repeatable",
    )
    backup = commands.add_parser(
        "backup",
        help="write a consistent copy of the database, safe while the bot runs",
        description="Copy DATABASE_PATH to PATH with SQLite's online backup; the bot may keep "
        "running. The copy is readable by its owner only.",
    )
    backup.add_argument("path", type=Path, metavar="PATH", help="where to write the copy")
    _add_feeds_parser(commands)
    migrate = commands.add_parser(
        "migrate-db",
        help="copy the SQLite database into an empty PostgreSQL database",
        description="Copy every table of DATABASE_PATH into the PostgreSQL database at URL "
        "(created and migrated if needed, refused unless empty), in one transaction, each "
        "table's row count checked. Stop the bot first: what it writes later is not copied.",
    )
    migrate.add_argument(
        "--to", required=True, metavar="URL", help="postgresql://user@host/database"
    )
    return parser


def _add_feeds_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    feeds = commands.add_parser(
        "feeds",
        help="import or export the feed list as OPML",
        description="Import feeds from an OPML file (each checked like /addfeed) or export "
        "every feed as OPML 2.0. Needs DATABASE_PATH, not the token.",
    )
    actions = feeds.add_subparsers(dest="action", required=True, metavar="ACTION")
    importing = actions.add_parser(
        "import",
        help="add the feeds of an OPML file; exit 1 if some were refused",
        description="Add every feed an OPML file lists (folders flattened), each fetched and "
        "parsed like /addfeed, and print what was added, already watched and refused (exit "
        "status 1 if any was refused, 2 if the file could not be used).",
    )
    importing.add_argument("file", metavar="FILE", help="the OPML file, or - for standard input")
    exporting = actions.add_parser(
        "export",
        help="write every feed as an OPML 2.0 file",
        description="Write every feed, with its title, as an OPML 2.0 document.",
    )
    exporting.add_argument("file", metavar="FILE", help="where to write, or - for standard output")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the newshound console script."""
    args = build_parser().parse_args(argv)
    # Opt in to PTB's coming timedelta retry_after (and silence its deprecation warning).
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    try:
        if args.command == "check":
            return _check(args.feed, args.query)
        if args.command == "backup":
            return backup_command(args.path)
        if args.command == "feeds":
            return feeds_command(args.action, args.file)
        if args.command == "migrate-db":
            return migrate_db_command(args.to)
    except BrokenPipeError:
        return _output_closed()
    try:
        settings = load_from_process()
    except ConfigError as error:
        return fail(str(error))
    configure_logging(settings)
    if args.command == "run":
        return _run(settings)
    return fail(f"unknown command {args.command}")


def _check(feed: str, queries: list[str]) -> int:
    try:
        # In the shell's language (LANG=uk_UA.UTF-8: Ukrainian), as the bot's replies are
        # in the chat's. Flushed here, so a closed pipe raises where main can handle it.
        with use_locale(locale_for(shell_language())):
            report = asyncio.run(run_check(feed, queries))
        print(report, flush=True)
    except CheckError as error:
        return fail(str(error))
    return 0


def _run(settings: Settings) -> int:
    try:
        asyncio.run(_run_until_signalled(settings))
    except StorageError as error:
        return fail(str(error))
    except InvalidToken:
        return fail(
            "BOT_TOKEN was rejected by Telegram (401 Unauthorized): check it with @BotFather"
        )
    except ListenError as error:
        return fail(f"{error}: choose another port or stop what holds it")
    except WebhookRefused as error:
        return fail(f"Telegram refused WEBHOOK_URL: {error}")
    except PollingConflict:
        fail("another instance is already running with this BOT_TOKEN (409 Conflict)")
        return EXIT_CONFLICT
    except BackgroundTaskCrashed as crash:
        # The traceback is already in the log (logged when the task died); one line here.
        fail(f"the {crash.task_name} task stopped unexpectedly (see the log above); stopped")
        return EXIT_CRASHED
    return 0


async def _run_until_signalled(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await run_bot(settings, stop)


def _output_closed() -> int:
    """Stop quietly when whoever reads stdout has gone away (`newshound check … | head`)."""
    # As the Python docs' "Note on SIGPIPE" advises: point stdout at devnull, so the flush
    # at interpreter exit does not fail again with a second BrokenPipeError message.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_BROKEN_PIPE
