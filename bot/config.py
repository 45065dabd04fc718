"""Typed settings read once from the environment and an optional .env file."""

import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bot.ingest.stories import CROSS_FEED_DEDUP_WINDOW

# Telegram tokens are "<bot id>:<secret>"; the secret is 30+ URL-safe characters.
_TOKEN_PATTERN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{20,}$")
_TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
_FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})
# What Telegram accepts as a webhook's secret_token (Bot API, setWebhook).
_SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_MAX_PORT = 65535
# The URL schemes libpq takes for a PostgreSQL server.
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class ConfigError(Exception):
    """A setting is missing or malformed; the message names it and says how to fix it."""


@dataclass(frozen=True)
class Settings:
    """Every setting Newshound reads, with its default."""

    bot_token: str
    telegram_api_url: str = "https://api.telegram.org"
    admin_ids: frozenset[int] = frozenset()
    database_path: Path = Path("newshound.sqlite3")
    # A postgresql:// URL selects the PostgreSQL backend; None: SQLite at database_path.
    database_url: str | None = None
    feed_urls: tuple[str, ...] = ()
    poll_interval_seconds: int = 300
    max_subscriptions_per_user: int = 50
    fetch_concurrency: int = 10
    parse_workers: int = 2
    alert_burst_limit: int = 10
    # What waited this long for its chat's turn goes as one digest (bot.delivery.burst).
    alert_coalesce_seconds: int = 120
    max_messages_per_second: int = 30
    allow_private_feeds: bool = False
    log_level: str = "INFO"
    outbox_retention_days: int = 7
    story_retention_days: int = 30
    # Webhook mode when a URL is set (long polling otherwise); the secret is then required.
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    webhook_secret: str | None = None
    # /healthz and /metrics, served only when a port is set.
    http_listen: str = "127.0.0.1"
    http_port: int | None = None
    # Several instances on one PostgreSQL: one silent this long counts as dead (its feed
    # leases end, another takes its work); heartbeats come three times as often.
    instance_lease_seconds: int = 15

    @property
    def bot_base_url(self) -> str:
        """Base URL PTB prefixes to "<token>/<method>"."""
        return self.telegram_api_url.rstrip("/") + "/bot"

    @property
    def bot_file_url(self) -> str:
        """Base URL PTB prefixes to "<token>/<file_path>" to download a file (getFile)."""
        return self.telegram_api_url.rstrip("/") + "/file/bot"

    @property
    def webhook_path(self) -> str:
        """The path Telegram POSTs updates to: WEBHOOK_URL's own (a proxy passes it on)."""
        return urlsplit(self.webhook_url or "").path or "/"

    def checked(self) -> "Settings":
        """Return self, or raise ConfigError when the two listeners would fight for a port."""
        shared_port = self.webhook_url is not None and self.http_port == self.webhook_port
        if shared_port and self.http_listen != self.webhook_listen:
            # One port serves both only on one address: two servers cannot bind it.
            raise ConfigError(
                f"HTTP_PORT and WEBHOOK_PORT are both {self.http_port} but HTTP_LISTEN "
                f"({self.http_listen}) and WEBHOOK_LISTEN ({self.webhook_listen}) differ: "
                "give them different ports, or the same address to share one server"
            )
        return self


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse KEY=VALUE lines of a .env file; blank lines and # comments are skipped."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw_line in path.read_text(encoding="utf-8").splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def load_settings(environ: Mapping[str, str], dotenv_path: Path | None = None) -> Settings:
    """Build Settings from environ, falling back to the .env file; raise ConfigError."""
    merged = dict(read_dotenv(dotenv_path)) if dotenv_path else {}
    merged.update(environ)

    def get(name: str) -> str | None:
        value = merged.get(name)
        return value.strip() if value is not None and value.strip() != "" else None

    outbox_days, story_days = _retention_days(get)
    webhook_url, webhook_secret = _webhook(get("WEBHOOK_URL"), get("WEBHOOK_SECRET"))
    return Settings(
        bot_token=_bot_token(get("BOT_TOKEN")),
        telegram_api_url=_api_url(get("TELEGRAM_API_URL") or Settings.telegram_api_url),
        admin_ids=_admin_ids(get("ADMIN_IDS")),
        database_path=Path(get("DATABASE_PATH") or Settings.database_path),
        database_url=_database_url(get("DATABASE_URL")),
        feed_urls=tuple(re.split(r"[\s,]+", get("FEED_URLS") or "")) if get("FEED_URLS") else (),
        poll_interval_seconds=_int(get, "POLL_INTERVAL_SECONDS", Settings.poll_interval_seconds),
        max_subscriptions_per_user=_int(
            get, "MAX_SUBSCRIPTIONS_PER_USER", Settings.max_subscriptions_per_user
        ),
        fetch_concurrency=_int(get, "FETCH_CONCURRENCY", Settings.fetch_concurrency),
        parse_workers=_int(get, "PARSE_WORKERS", Settings.parse_workers),
        alert_burst_limit=_int(get, "ALERT_BURST_LIMIT", Settings.alert_burst_limit),
        alert_coalesce_seconds=_int(get, "ALERT_COALESCE_SECONDS", Settings.alert_coalesce_seconds),
        max_messages_per_second=_int(
            get, "MAX_MESSAGES_PER_SECOND", Settings.max_messages_per_second
        ),
        allow_private_feeds=_bool(get, "ALLOW_PRIVATE_FEEDS", Settings.allow_private_feeds),
        log_level=_log_level(get("LOG_LEVEL") or Settings.log_level),
        outbox_retention_days=outbox_days,
        story_retention_days=story_days,
        webhook_url=webhook_url,
        webhook_listen=get("WEBHOOK_LISTEN") or Settings.webhook_listen,
        webhook_port=_port(get, "WEBHOOK_PORT") or Settings.webhook_port,
        webhook_secret=webhook_secret,
        http_listen=get("HTTP_LISTEN") or Settings.http_listen,
        http_port=_port(get, "HTTP_PORT"),
        instance_lease_seconds=_int(get, "INSTANCE_LEASE_SECONDS", Settings.instance_lease_seconds),
    ).checked()


def _webhook(url: str | None, secret: str | None) -> tuple[str | None, str | None]:
    if url is None:
        return None, None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"WEBHOOK_URL must be the public https:// address Telegram posts updates to "
            f"(got {url!r}); leave it unset to use long polling"
        )
    if secret is None or not _SECRET_PATTERN.match(secret):
        raise ConfigError(
            "WEBHOOK_SECRET must be set with WEBHOOK_URL, 1 to 256 letters, digits, _ or - "
            "(for example the output of `openssl rand -hex 32`): Telegram sends it with every "
            "update, and requests without it are refused"
        )
    return url, secret


def _port(get: Callable[[str], str | None], name: str) -> int | None:
    raw = get(name)
    if raw is None:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= _MAX_PORT:
        raise ConfigError(f"{name} must be a TCP port number from 1 to {_MAX_PORT} (got {raw!r})")
    return int(raw)


def _bot_token(value: str | None) -> str:
    if value is None:
        raise ConfigError(
            "BOT_TOKEN is not set: get a token from @BotFather and put BOT_TOKEN=<token> "
            "in the environment or in .env"
        )
    if not _TOKEN_PATTERN.match(value):
        raise ConfigError(
            "BOT_TOKEN is malformed: it should look like 123456789:AAE... as given by @BotFather"
        )
    return value


def _api_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ConfigError(
            f"TELEGRAM_API_URL must start with http:// or https:// (got {value!r}); "
            "leave it unset for https://api.telegram.org"
        )
    return value.rstrip("/")


def _database_url(value: str | None) -> str | None:
    if value is None:
        return None
    if not value.startswith(POSTGRES_SCHEMES):
        raise ConfigError(
            "DATABASE_URL must be a postgresql:// URL (e.g. postgresql://user@host/newshound); "
            "leave it unset to use the SQLite file at DATABASE_PATH"
        )
    return value


def _admin_ids(value: str | None) -> frozenset[int]:
    if value is None:
        return frozenset()
    ids: set[int] = set()
    for part in re.split(r"[\s,]+", value):
        if not part:
            continue
        if not re.fullmatch(r"-?\d+", part):
            raise ConfigError(
                f"ADMIN_IDS must be comma-separated numeric Telegram user ids (bad value {part!r})"
            )
        ids.add(int(part))
    return frozenset(ids)


def _int(get: Callable[[str], str | None], name: str, default: int) -> int:
    raw = get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(
            f"{name} must be a whole number (got {raw!r}); default is {default}"
        ) from None
    if value < 1:
        raise ConfigError(f"{name} must be at least 1 (got {value}); default is {default}")
    return value


def _retention_days(get: Callable[[str], str | None]) -> tuple[int, int]:
    outbox_days = _int(get, "OUTBOX_RETENTION_DAYS", Settings.outbox_retention_days)
    story_days = _int(get, "STORY_RETENTION_DAYS", Settings.story_retention_days)
    window_days = CROSS_FEED_DEDUP_WINDOW.total_seconds() / 86400
    if story_days <= window_days:
        raise ConfigError(
            f"STORY_RETENTION_DAYS must be more than {window_days:g} days, the cross-feed "
            f"duplicate window (got {story_days}); default is {Settings.story_retention_days}"
        )
    if story_days < outbox_days:
        # A story stays while an outbox row refers to it: a shorter story retention would
        # not be what actually happens.
        raise ConfigError(
            f"STORY_RETENTION_DAYS ({story_days}) must be at least OUTBOX_RETENTION_DAYS "
            f"({outbox_days}): stories are kept while their alerts are"
        )
    return outbox_days, story_days


def _bool(get: Callable[[str], str | None], name: str, default: bool) -> bool:
    raw = get(name)
    if raw is None:
        return default
    if raw.lower() in _TRUE_WORDS:
        return True
    if raw.lower() in _FALSE_WORDS:
        return False
    raise ConfigError(f"{name} must be true or false (got {raw!r})")


def _log_level(value: str) -> str:
    level = value.upper()
    if not isinstance(logging.getLevelName(level), int):
        raise ConfigError(
            f"LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL (got {value!r})"
        )
    return level


def load_from_process(dotenv_path: Path = Path(".env")) -> Settings:
    """Read settings for the running process: os.environ wins over .env."""
    return load_settings(os.environ, dotenv_path)
