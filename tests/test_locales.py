"""Which language the bot speaks: a Telegram language_code's locale, the current locale of the
running code (a ContextVar), the chat's stored language and its cache, rendering in it."""

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from telegram import Chat, Message, Update, User

from bot.i18n import (
    DEFAULT_LOCALE,
    SUPPORTED_LOCALES,
    current_locale,
    language_name,
    locale_for,
    t,
    tn,
    translator,
    use_locale,
)
from bot.matching.query import QueryError, parse_query
from bot.render.alerts import format_time
from bot.render.language import language_menu
from bot.render.outbox import render_all
from bot.services import ChatLanguages
from bot.storage import Chat as StoredChat
from bot.storage import ChatSeen, ChatStatus, ChatType, OutboxItem
from bot.storage.sqlite import SqliteStorage
from bot.updates.traffic import ChatOrderedProcessor

WAIT = 30.0
PUBLISHED = datetime(2026, 11, 25, 9, 14, tzinfo=UTC)


@pytest.mark.parametrize(
    ("language_code", "locale"),
    [
        ("uk", "uk"),
        ("uk-UA", "uk"),
        ("UK", "uk"),
        ("ua", "uk"),  # the country code some clients send for Ukrainian
        ("ru", "ru"),
        ("ru-RU", "ru"),
        ("ru_RU", "ru"),
        ("be", "ru"),  # Belarusian and Kazakh readers nearly all read Russian
        ("kk", "ru"),
        ("en", "en"),
        ("en-GB", "en"),
        ("de", "en"),
        ("pt-br", "en"),
        ("", "en"),
        (None, "en"),
        ("u", "en"),
        ("ukr", "en"),
    ],
)
def test_a_telegram_language_code_gets_a_supported_locale(
    language_code: str | None, locale: str
) -> None:
    assert locale_for(language_code) == locale


def test_the_current_locale_is_english_outside_any_block_and_nests() -> None:
    assert current_locale() == DEFAULT_LOCALE
    with use_locale("uk"):
        assert current_locale() == "uk"
        with use_locale("ru"):
            assert current_locale() == "ru"
        assert current_locale() == "uk"
    assert current_locale() == DEFAULT_LOCALE
    with pytest.raises(ValueError, match="no catalogue"), use_locale("de"):
        pass
    assert current_locale() == DEFAULT_LOCALE


YOU_HAVE = (
    "You have {n} subscription: see them with /list.",
    "You have {n} subscriptions: see them with /list.",
)


def test_t_tn_and_translator_speak_the_current_locale_unless_told() -> None:
    english = t("Alerts are already on.")
    with use_locale("uk"):
        ukrainian = t("Alerts are already on.")
        assert translator() is translator("uk")
        assert translator("en").t("Alerts are already on.") == english
        forms = {n: tn(*YOU_HAVE, n) for n in (1, 2, 5, 21)}
    assert ukrainian != english
    assert ukrainian == translator("uk").t("Alerts are already on.")
    assert forms == {n: translator("uk").tn(*YOU_HAVE, n) for n in (1, 2, 5, 21)}
    nouns = {n: "підписка" if n % 10 == 1 else "підписки" if n == 2 else "підписок" for n in forms}
    assert all(f"{n} {nouns[n]}" in form for n, form in forms.items()), forms  # one, few, many
    assert tn(*YOU_HAVE, 2) == "You have 2 subscriptions: see them with /list."


async def test_each_task_speaks_its_own_locale() -> None:
    """Concurrent updates in different languages never hear each other's (a ContextVar)."""
    switched = asyncio.Event()
    heard: dict[str, str] = {}

    async def speaker(locale: str, *, first: bool) -> None:
        with use_locale(locale):
            if first:
                await switched.wait()  # the other task set its locale meanwhile
            else:
                switched.set()
            heard[locale] = t("Alerts are already on.")

    await asyncio.wait_for(
        asyncio.gather(speaker("uk", first=True), speaker("ru", first=False)), WAIT
    )
    assert heard == {
        "uk": translator("uk").t("Alerts are already on."),
        "ru": translator("ru").t("Alerts are already on."),
    }
    assert current_locale() == DEFAULT_LOCALE


def test_languages_are_named_in_themselves() -> None:
    assert [language_name(locale, capitalised=True) for locale in SUPPORTED_LOCALES] == [
        "English",
        "Українська",
        "Русский",
    ]
    assert [language_name(locale) for locale in SUPPORTED_LOCALES] == [
        "English",
        "українська",
        "русский",
    ]


def test_the_language_menu_marks_the_current_one() -> None:
    menu = language_menu("uk")
    assert [[button.label for button in row] for row in menu.keyboard] == [
        ["English"],
        ["✓ Українська"],
        ["Русский"],
    ]
    assert [row[0].callback_data for row in menu.keyboard] == ["lang:en", "lang:uk", "lang:ru"]


def test_a_query_error_is_worded_when_shown_not_when_raised() -> None:
    with use_locale("uk"), pytest.raises(QueryError) as raised:
        parse_query("-football")
    error = raised.value
    english = "it only excludes words; say what stories you want too"
    assert str(error) == english, "shown outside the update: English"
    with use_locale("ru"):
        assert str(error) == translator("ru").t(english)
        assert str(error) != english


def _row(kind: str, language: str | None, n: int = 1) -> OutboxItem:
    return OutboxItem(
        id=n,
        kind=kind,
        chat_id=7,
        chat_status=ChatStatus.ACTIVE,
        matched=("Ukraine",),
        attempts=0,
        status="pending",
        title=f"Ukraine talks resume #{n}",
        link=f"https://news.example/{n}",
        summary="Ministers met in Brussels on Tuesday.",
        published=PUBLISHED,
        source="World Desk",
        broadcast_id=None,
        chat_language=language,
    )


@pytest.mark.parametrize("language", ["uk", "uk-UA", "ru", "en", None])
def test_an_alert_has_the_chats_labels_around_the_story_as_written(language: str | None) -> None:
    locale = locale_for(language)
    [message] = render_all([_row("alert", language)])
    lines = message.text.splitlines()
    assert lines[0] == '<a href="https://news.example/1"><b>Ukraine</b> talks resume #1</a>'
    with use_locale(locale):
        assert lines[1] == f"World Desk · {format_time(PUBLISHED)}"
        assert lines[-1] == t("Matched: {queries}", queries="Ukraine")
    assert "Ministers met in Brussels on Tuesday." in message.text
    assert current_locale() == DEFAULT_LOCALE, "rendering leaves the worker's locale alone"


def test_dates_are_spelt_in_the_chats_language() -> None:
    with use_locale("uk"):
        assert format_time(PUBLISHED) == "25 лист. 2026 р., 09:14 UTC"
    with use_locale("ru"):
        assert format_time(PUBLISHED) == "25 нояб. 2026 г., 09:14 UTC"
    assert format_time(PUBLISHED) == "25 Nov 2026, 09:14 UTC"


def test_a_digest_header_takes_the_chats_plural_form() -> None:
    headers = {}
    for count in (2, 5, 21):
        rows = [_row("digest", "uk", n) for n in range(1, count + 1)]
        [message, *_] = render_all(rows)
        headers[count] = message.text.splitlines()[0]
    speaker = translator("uk")
    for count, header in headers.items():
        expected = speaker.tn(
            "…and {n} more new story matching your subscriptions:",
            "…and {n} more new stories matching your subscriptions:",
            count,
        )
        assert header == f"<b>{expected}</b>"
    assert len({header.split(" ", 3)[3] for header in headers.values()}) == 3, headers


# The chat's language for each update: stored, cached, changed in one place.


class CountingStorage(SqliteStorage):
    """The real SQLite storage, counting how often a chat's row is read."""

    chat_reads = 0

    async def get_chat(self, chat_id: int) -> StoredChat | None:
        self.chat_reads += 1
        return await super().get_chat(chat_id)


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[CountingStorage]:
    storage = await CountingStorage.open(tmp_path / "db.sqlite3")
    try:
        yield storage
    finally:
        await storage.close()


async def test_a_chat_speaks_its_stored_language_else_the_senders(
    storage: CountingStorage,
) -> None:
    languages = ChatLanguages(storage)
    assert await languages.locale_of(None, "uk") == "uk", "no chat: the sender's"
    assert await languages.locale_of(1, "ru-RU") == "ru", "an unknown chat: the sender's"
    languages.seen(await storage.register_chat(ChatSeen(1, ChatType.PRIVATE, "Ann", None, "uk"), 1))
    assert await languages.locale_of(1, "ru") == "uk", "the chat's first language, not the sender's"
    group = await storage.register_chat(ChatSeen(-5, ChatType.GROUP, "Team", None, None), 1)
    languages.seen(group)
    assert await languages.locale_of(-5, "ru") == "ru", "no stored language: the sender's"
    assert await languages.locale_of(-5, "de") == "en"


async def test_an_update_reads_the_chat_once_then_the_cache_kept_true_by_changes(
    storage: CountingStorage,
) -> None:
    await storage.register_chat(ChatSeen(1, ChatType.PRIVATE, "Ann", None, "uk"), 1)
    languages = ChatLanguages(storage)
    for _ in range(5):
        assert await languages.locale_of(1, "en") == "uk"
    assert storage.chat_reads == 1
    assert await languages.change(1, "ru")
    assert await languages.locale_of(1, "en") == "ru"
    assert storage.chat_reads == 1
    stored = await storage.get_chat(1)
    assert stored is not None
    assert stored.language == "ru"
    assert not await languages.change(404, "ru"), "an unknown chat stays unknown"
    with pytest.raises(ValueError, match="unsupported"):
        await languages.change(1, "de")


async def test_the_cache_forgets_the_least_recent_chats_beyond_its_size(
    storage: CountingStorage,
) -> None:
    languages = ChatLanguages(storage, capacity=2)
    for chat_id in (1, 2, 1, 3):  # 2 is the least recently used when 3 arrives
        await languages.locale_of(chat_id, None)
    reads = storage.chat_reads
    await languages.locale_of(1, None)
    await languages.locale_of(3, None)
    assert storage.chat_reads == reads
    await languages.locale_of(2, None)
    assert storage.chat_reads == reads + 1


async def test_the_processor_runs_each_update_in_its_chats_locale() -> None:
    stored = {1: "uk", 2: "ru"}

    async def source(chat_id: int | None, language_code: str | None) -> str:
        return locale_for(stored.get(chat_id or 0, language_code))

    processor = ChatOrderedProcessor(4)
    processor.locale_source = source
    heard: dict[int, str] = {}

    async def handler(chat_id: int) -> None:
        heard[chat_id] = current_locale()

    for chat_id, sender_language in ((1, "en"), (2, None), (3, "ru"), (4, "de")):
        sender = User(chat_id, "Ann", False, language_code=sender_language)
        message = Message(chat_id, PUBLISHED, Chat(chat_id, Chat.PRIVATE), from_user=sender)
        await asyncio.wait_for(
            processor.process_update(Update(chat_id, message=message), handler(chat_id)), WAIT
        )
    assert heard == {1: "uk", 2: "ru", 3: "ru", 4: "en"}
    assert current_locale() == DEFAULT_LOCALE


async def test_an_update_is_answered_in_english_when_its_language_cannot_be_told() -> None:
    async def broken(chat_id: int | None, language_code: str | None) -> str:
        raise RuntimeError("a bug in the lookup")

    processor = ChatOrderedProcessor(1)
    processor.locale_source = broken
    heard: list[str] = []

    async def handler() -> None:
        heard.append(current_locale())

    sender = User(9, "Bo", False, language_code="uk")
    message = Message(1, PUBLISHED, Chat(9, Chat.PRIVATE), from_user=sender)
    await asyncio.wait_for(processor.process_update(Update(1, message=message), handler()), WAIT)
    assert heard == ["en"]


def test_an_outbox_row_without_a_language_is_english() -> None:
    row = dataclasses.replace(_row("alert", None), matched=("NATO",))
    [message] = render_all([row])
    assert message.text.endswith("Matched: NATO")
