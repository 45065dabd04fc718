"""Settings the token-less commands read (`newshound backup`, `feeds`, `migrate-db`): the
database and how feeds are fetched, from the environment and .env like bot.config's."""

import os
from dataclasses import dataclass
from pathlib import Path

from bot.config import Settings, _bool, _database_url, _int, read_dotenv


@dataclass(frozen=True)
class FeedToolSettings:
    """What `newshound feeds import|export` reads: the database and how feeds are fetched
    (no token: it never talks to Telegram)."""

    database_path: Path = Settings.database_path
    database_url: str | None = None
    allow_private_feeds: bool = Settings.allow_private_feeds
    fetch_concurrency: int = Settings.fetch_concurrency
    parse_workers: int = Settings.parse_workers


def feed_tool_settings_from_process(dotenv_path: Path = Path(".env")) -> FeedToolSettings:
    """Read FeedToolSettings: os.environ wins over .env; raise ConfigError."""
    merged = {**read_dotenv(dotenv_path), **os.environ}

    def get(name: str) -> str | None:
        value = merged.get(name, "").strip()
        return value or None

    return FeedToolSettings(
        database_path=Path(get("DATABASE_PATH") or Settings.database_path),
        database_url=_database_url(get("DATABASE_URL")),
        allow_private_feeds=_bool(get, "ALLOW_PRIVATE_FEEDS", Settings.allow_private_feeds),
        fetch_concurrency=_int(get, "FETCH_CONCURRENCY", Settings.fetch_concurrency),
        parse_workers=_int(get, "PARSE_WORKERS", Settings.parse_workers),
    )


def database_path_from_process(dotenv_path: Path = Path(".env")) -> Path:
    """Read just DATABASE_PATH (for commands that need no token, like backup)."""
    merged = {**read_dotenv(dotenv_path), **os.environ}
    return Path(merged.get("DATABASE_PATH", "").strip() or Settings.database_path)


def shell_language() -> str | None:
    """The language the shell speaks, for what the commands print: POSIX's order, LC_ALL,
    then LC_MESSAGES, then LANG ("uk_UA.UTF-8"); None for C/POSIX or when unset."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "").strip()
        if value:
            return None if value.split(".")[0] in ("C", "POSIX") else value
    return None


def database_url_from_process(dotenv_path: Path = Path(".env")) -> str | None:
    """Read just DATABASE_URL, unchecked (for commands that need no token, like backup)."""
    merged = {**read_dotenv(dotenv_path), **os.environ}
    return merged.get("DATABASE_URL", "").strip() or None
