"""Tests of settings loading: defaults, .env, validation with clear messages."""

import re
from dataclasses import fields
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings

TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef"
EXAMPLE = Path(__file__).resolve().parent.parent / ".env.example"


def test_defaults() -> None:
    settings = load_settings({"BOT_TOKEN": TOKEN})
    assert settings == Settings(bot_token=TOKEN)
    assert settings.bot_base_url == "https://api.telegram.org/bot"


def test_every_setting_is_read() -> None:
    settings = load_settings(
        {
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": "http://127.0.0.1:8081/",
            "ADMIN_IDS": "1, 2,3",
            "DATABASE_PATH": "/tmp/x.sqlite3",
            "DATABASE_URL": "postgresql://bot@db.internal/newshound",
            "FEED_URLS": "http://a/feed, http://b/rss\nhttp://c/atom",
            "POLL_INTERVAL_SECONDS": "10",
            "MAX_SUBSCRIPTIONS_PER_USER": "5",
            "FETCH_CONCURRENCY": "3",
            "PARSE_WORKERS": "1",
            "ALERT_BURST_LIMIT": "4",
            "ALERT_COALESCE_SECONDS": "600",
            "ALLOW_PRIVATE_FEEDS": "true",
            "LOG_LEVEL": "debug",
        }
    )
    assert settings.bot_base_url == "http://127.0.0.1:8081/bot"
    assert settings.admin_ids == frozenset({1, 2, 3})
    assert settings.database_path == Path("/tmp/x.sqlite3")
    assert settings.database_url == "postgresql://bot@db.internal/newshound"
    assert settings.feed_urls == ("http://a/feed", "http://b/rss", "http://c/atom")
    assert settings.poll_interval_seconds == 10
    assert settings.max_subscriptions_per_user == 5
    assert settings.fetch_concurrency == 3
    assert settings.parse_workers == 1
    assert settings.alert_burst_limit == 4
    assert settings.alert_coalesce_seconds == 600
    assert settings.allow_private_feeds is True
    assert settings.log_level == "DEBUG"


def test_environment_wins_over_dotenv(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        f'# comment\nBOT_TOKEN="{TOKEN}"\nPOLL_INTERVAL_SECONDS=60\nLOG_LEVEL=DEBUG\n',
        encoding="utf-8",
    )
    settings = load_settings({"POLL_INTERVAL_SECONDS": "30"}, dotenv)
    assert settings.bot_token == TOKEN
    assert settings.poll_interval_seconds == 30
    assert settings.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "BOT_TOKEN is not set"),
        ({"BOT_TOKEN": "nonsense"}, "BOT_TOKEN is malformed"),
        ({"BOT_TOKEN": TOKEN, "POLL_INTERVAL_SECONDS": "5m"}, "POLL_INTERVAL_SECONDS must be"),
        ({"BOT_TOKEN": TOKEN, "POLL_INTERVAL_SECONDS": "0"}, "POLL_INTERVAL_SECONDS must be at"),
        ({"BOT_TOKEN": TOKEN, "MAX_SUBSCRIPTIONS_PER_USER": "-1"}, "MAX_SUBSCRIPTIONS_PER_USER"),
        ({"BOT_TOKEN": TOKEN, "ADMIN_IDS": "alice"}, "ADMIN_IDS"),
        ({"BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": "localhost:8081"}, "TELEGRAM_API_URL"),
        ({"BOT_TOKEN": TOKEN, "LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"BOT_TOKEN": TOKEN, "ALLOW_PRIVATE_FEEDS": "maybe"}, "ALLOW_PRIVATE_FEEDS"),
    ],
    ids=[
        "missing token",
        "malformed token",
        "non-numeric interval",
        "zero interval",
        "negative limit",
        "admin ids",
        "api url scheme",
        "log level",
        "boolean",
    ],
)
def test_bad_settings_name_the_setting(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(environ)


def test_minimum_poll_interval_is_one_second() -> None:
    assert (
        load_settings({"BOT_TOKEN": TOKEN, "POLL_INTERVAL_SECONDS": "1"}).poll_interval_seconds == 1
    )


def test_env_example_documents_every_setting() -> None:
    documented = set(re.findall(r"^#?\s*([A-Z_]+)=", EXAMPLE.read_text(encoding="utf-8"), re.M))
    read = {field.name.upper() for field in fields(Settings)}
    assert read <= documented, f"missing from .env.example: {sorted(read - documented)}"


def test_webhook_and_http_settings_are_read() -> None:
    settings = load_settings(
        {
            "BOT_TOKEN": TOKEN,
            "WEBHOOK_URL": "https://bot.example.org/telegram/updates",
            "WEBHOOK_LISTEN": "0.0.0.0",
            "WEBHOOK_PORT": "8081",
            "WEBHOOK_SECRET": "abc_DEF-123",
            "HTTP_PORT": "9100",
        }
    )
    assert settings.webhook_url == "https://bot.example.org/telegram/updates"
    assert settings.webhook_path == "/telegram/updates"
    assert (settings.webhook_listen, settings.webhook_port) == ("0.0.0.0", 8081)
    assert settings.webhook_secret == "abc_DEF-123"
    assert (settings.http_listen, settings.http_port) == ("127.0.0.1", 9100)


def test_long_polling_and_no_http_port_are_the_defaults() -> None:
    settings = load_settings({"BOT_TOKEN": TOKEN, "WEBHOOK_SECRET": "unused"})
    assert (settings.webhook_url, settings.webhook_secret, settings.http_port) == (None,) * 3
    with_url = load_settings(
        {"BOT_TOKEN": TOKEN, "WEBHOOK_URL": "https://bot.example.org", "WEBHOOK_SECRET": "s"}
    )
    assert (with_url.webhook_path, with_url.webhook_port) == ("/", 8443)


WEBHOOK = {"BOT_TOKEN": TOKEN, "WEBHOOK_URL": "https://bot.example.org/hook"}


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (WEBHOOK, "WEBHOOK_SECRET must be set with WEBHOOK_URL"),
        ({**WEBHOOK, "WEBHOOK_SECRET": "has space"}, "WEBHOOK_SECRET must be set"),
        ({**WEBHOOK, "WEBHOOK_SECRET": "x" * 257}, "WEBHOOK_SECRET must be set"),
        ({**WEBHOOK, "WEBHOOK_URL": "bot.example.org/hook"}, "WEBHOOK_URL must be"),
        ({**WEBHOOK, "WEBHOOK_URL": "ftp://bot.example.org/"}, "WEBHOOK_URL must be"),
        ({"BOT_TOKEN": TOKEN, "HTTP_PORT": "65536"}, "HTTP_PORT must be a TCP port"),
        ({"BOT_TOKEN": TOKEN, "HTTP_PORT": "0"}, "HTTP_PORT must be a TCP port"),
        ({"BOT_TOKEN": TOKEN, "WEBHOOK_PORT": "http"}, "WEBHOOK_PORT must be a TCP port"),
        (
            {**WEBHOOK, "WEBHOOK_SECRET": "s", "HTTP_PORT": "8443", "WEBHOOK_LISTEN": "0.0.0.0"},
            "HTTP_PORT and WEBHOOK_PORT are both 8443",
        ),
    ],
    ids=[
        "no secret",
        "secret with a space",
        "secret too long",
        "url without scheme",
        "url not http",
        "port too high",
        "port zero",
        "port not a number",
        "one port, two addresses",
    ],
)
def test_bad_web_settings_name_the_setting(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(environ)


def test_health_and_webhook_may_share_one_address() -> None:
    settings = load_settings({**WEBHOOK, "WEBHOOK_SECRET": "s", "HTTP_PORT": "8443"})
    assert settings.http_port == settings.webhook_port == 8443


def test_a_database_url_that_is_not_postgresql_is_refused_naming_the_setting() -> None:
    with pytest.raises(ConfigError, match=r"^DATABASE_URL must be a postgresql:// URL"):
        load_settings({"BOT_TOKEN": TOKEN, "DATABASE_URL": "mysql://bot@db/newshound"})
