"""Button callback data: every kind of button, its prefix and its payload, in one registry.

Callback data is "<prefix>:<payload>" and Telegram accepts at most 64 bytes of it (UTF-8), so
encoding checks the size and raises CallbackDataTooLong rather than let Telegram refuse the
whole message. Whatever a button claims comes from the person pressing it (a client can send
any data for any message), so decoding never raises: data that is forged, stale, garbled or
of another kind decodes to None, and the handler treats it as a stale button.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from bot.i18n import SUPPORTED_LOCALES

# Telegram's limit on callback_data, in bytes of UTF-8.
CALLBACK_DATA_LIMIT = 64
SEPARATOR = ":"
# Ids are SQLite integers; more digits than a 64-bit integer has cannot name a row.
MAX_ID_DIGITS = 18

P = TypeVar("P")


class CallbackDataTooLong(ValueError):
    """Callback data over Telegram's 64 bytes: a bug in whatever built the button."""


def check_callback_data(data: str) -> str:
    """Return data if Telegram accepts it as callback data; raise CallbackDataTooLong if not."""
    size = len(data.encode("utf-8", "surrogatepass"))
    if size > CALLBACK_DATA_LIMIT:
        raise CallbackDataTooLong(f"callback data is {size} bytes, over {CALLBACK_DATA_LIMIT}")
    return data


@dataclass(frozen=True, slots=True)
class CallbackKind(Generic[P]):
    """One kind of button: its prefix and how its payload is written and read back."""

    prefix: str
    write: Callable[[P], str]
    # Returns None for a payload it does not recognise; may raise ValueError too.
    read: Callable[[str], P | None]

    @property
    def pattern(self) -> str:
        """The regular expression a CallbackQueryHandler routes this kind's buttons by."""
        return f"^{re.escape(self.prefix + SEPARATOR)}"

    def encode(self, payload: P) -> str:
        """Return the callback data for payload; raise CallbackDataTooLong past 64 bytes."""
        return check_callback_data(self.prefix + SEPARATOR + self.write(payload))

    def decode(self, data: str | None) -> P | None:
        """Return the payload of this kind's data, or None for anything else."""
        head = self.prefix + SEPARATOR
        if data is None or not data.startswith(head):
            return None
        try:
            return self.read(data[len(head) :])
        except ValueError:
            return None


class CallbackRegistry:
    """Every callback kind by prefix; a prefix is registered once."""

    def __init__(self) -> None:
        self._kinds: dict[str, CallbackKind[Any]] = {}

    def register(
        self, prefix: str, write: Callable[[P], str], read: Callable[[str], P | None]
    ) -> CallbackKind[P]:
        """Add a kind; raise ValueError for a prefix already taken, empty or with a ":"."""
        if not prefix or SEPARATOR in prefix:
            raise ValueError(f"callback prefix {prefix!r} must be non-empty without {SEPARATOR!r}")
        if prefix in self._kinds:
            raise ValueError(f"callback prefix {prefix!r} is already registered")
        kind = CallbackKind(prefix, write, read)
        self._kinds[prefix] = kind
        return kind

    def kind_of(self, data: str | None) -> CallbackKind[Any] | None:
        """Return the kind data claims to be, or None for an unknown prefix."""
        if data is None:
            return None
        prefix, separator, _ = data.partition(SEPARATOR)
        return self._kinds.get(prefix) if separator else None

    def prefixes(self) -> list[str]:
        return list(self._kinds)


def write_id(value: int) -> str:
    if value < 0:
        raise ValueError(f"an id is never negative: {value}")
    return str(value)


def read_id(raw: str) -> int | None:
    """Return the id written by write_id, or None (no sign, no spaces, ASCII digits only)."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > MAX_ID_DIGITS:
        return None
    return int(raw)


def _write_locale(locale: str) -> str:
    if locale not in SUPPORTED_LOCALES:
        raise ValueError(f"no catalogue for locale {locale!r}")
    return locale


def _read_locale(raw: str) -> str | None:
    return raw if raw in SUPPORTED_LOCALES else None


def _write_yes_no(confirmed: bool) -> str:
    return "yes" if confirmed else "no"


def _read_yes_no(raw: str) -> bool | None:
    return {"yes": True, "no": False}.get(raw)


class BroadcastAction(StrEnum):
    CONFIRM = "ok"
    CANCEL = "no"


def _write_broadcast(payload: tuple[BroadcastAction, int]) -> str:
    action, draft_id = payload
    return f"{action.value}{SEPARATOR}{write_id(draft_id)}"


def _read_broadcast(raw: str) -> tuple[BroadcastAction, int] | None:
    action, _, raw_id = raw.partition(SEPARATOR)
    draft_id = read_id(raw_id)
    if draft_id is None:
        return None
    return BroadcastAction(action), draft_id  # an unknown action raises ValueError: None


def _write_query(display: str) -> str:
    if not display.strip():
        raise ValueError("an empty query")
    return display


def _read_query(raw: str) -> str | None:
    return raw if raw.strip() else None


class SettingsAction(StrEnum):
    QUIET_OFF = "quietoff"
    DIGEST_OFF = "digestoff"


def _write_settings(action: SettingsAction) -> str:
    return action.value


def _read_settings(raw: str) -> SettingsAction | None:
    return SettingsAction(raw)  # an unknown action raises ValueError: None


CALLBACKS = CallbackRegistry()
# "unsub:<subscription id>": remove one subscription (the /unsubscribe keyboard).
UNSUBSCRIBE = CALLBACKS.register("unsub", write_id, read_id)
# "unsuball:yes" / "unsuball:no": confirm or cancel removing every subscription.
REMOVE_ALL = CALLBACKS.register("unsuball", _write_yes_no, _read_yes_no)
# "lang:<locale>": the language the chat speaks from now on (the /language keyboard).
LANGUAGE = CALLBACKS.register("lang", _write_locale, _read_locale)
# "bc:ok:<draft id>" / "bc:no:<draft id>": send or cancel a previewed broadcast.
BROADCAST = CALLBACKS.register("bc", _write_broadcast, _read_broadcast)
# A tried query (/try) to subscribe to: its text as typed, when it fits in the 64 bytes.
TRY_SUBSCRIBE = CALLBACKS.register("trysub", _write_query, _read_query)
# "sched:quietoff" / "sched:digestoff": turn quiet hours or digests off (the /settings keyboard).
SETTINGS = CALLBACKS.register("sched", _write_settings, _read_settings)


class TuneAction(StrEnum):
    """What a tuning button on an alert does; every one names the alert's story."""

    MUTE_MENU = "m"  # show the mute choices (or, for several queries, which to mute)
    STOP_MENU = "s"  # stop the query (or, for several, ask which)
    HIDE = "h"  # hide the story's source from every alert of the chat
    MUTE_PICK = "mp"  # target: the subscription chosen; show its mute choices
    MUTE = "mu"  # target: the subscription; extra: which of the mute durations
    UNMUTE = "um"  # target: the subscription (Undo after a mute)
    STOP = "st"  # target: the subscription
    RESTORE = "rs"  # target: its place in the alert's matched list; extra: topic (0: none)
    SHOW = "sh"  # show the story's source again (Undo after hiding it)
    BACK = "bk"  # the alert's own buttons again


@dataclass(frozen=True, slots=True)
class Tune:
    """A tuning button's payload: ids only, never a query's text (64 bytes, and forgeable)."""

    action: TuneAction
    story_id: int
    target: int = 0
    extra: int = 0


def _write_tune(tune: Tune) -> str:
    ids = (tune.story_id, tune.target, tune.extra)
    return SEPARATOR.join([tune.action.value, *(write_id(value) for value in ids)])


def _read_tune(raw: str) -> Tune | None:
    action, *raw_ids = raw.split(SEPARATOR)
    ids = [read_id(value) for value in raw_ids]
    if len(ids) != 3 or None in ids:
        return None
    story_id, target, extra = (value for value in ids if value is not None)
    return Tune(TuneAction(action), story_id, target, extra)  # unknown action: ValueError


# "tune:<action>:<story id>:<target>:<extra>": a tuning button on an alert (TuneAction).
TUNE = CALLBACKS.register("tune", _write_tune, _read_tune)
# "unmute:<subscription id>": end a mute now (the /list keyboard).
UNMUTE_LISTED = CALLBACKS.register("unmute", write_id, read_id)
# "showsrc:<feed id>": show a hidden source again (the /list keyboard).
SHOW_LISTED = CALLBACKS.register("showsrc", write_id, read_id)


class ChannelAction(StrEnum):
    """What a button about a linked channel does (the /channel keyboards)."""

    SHOW = "v"  # show the channel's card
    SHOW_MATCHED = "m1"  # end its alerts with the queries they matched
    HIDE_MATCHED = "m0"  # leave that line out (the default)


def _write_channel(payload: tuple[ChannelAction, int]) -> str:
    action, chat_id = payload
    # A channel's id is negative (-100...); written without its sign.
    return f"{action.value}{SEPARATOR}{write_id(-chat_id)}"


def _read_channel(raw: str) -> tuple[ChannelAction, int] | None:
    action, _, raw_id = raw.partition(SEPARATOR)
    chat_id = read_id(raw_id)
    if not chat_id:
        return None
    return ChannelAction(action), -chat_id  # an unknown action raises ValueError: None


# "chan:<action>:<channel id without its sign>": a linked channel's card and its setting.
CHANNEL = CALLBACKS.register("chan", _write_channel, _read_channel)
