"""The outgoing message: what the bot sends, as plain data, before Telegram sees it.

Rendering (alerts, digests, broadcasts, replies) returns OutgoingMessages; the delivery
worker and handlers/reply.py send them as given, turning the keyboard into Telegram's
markup at the edge (bot/delivery/markup.py). Nothing here imports telegram.
"""

from dataclasses import dataclass

from bot.render.callbacks import check_callback_data


@dataclass(frozen=True, slots=True)
class Button:
    """One inline button: a label and either callback data (see callbacks.py) or a URL."""

    label: str
    callback_data: str | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        if (self.callback_data is None) == (self.url is None):
            raise ValueError("a button has either callback data or a URL, not both or neither")
        if self.callback_data is not None:
            check_callback_data(self.callback_data)


# Rows of buttons, top to bottom; each row left to right.
Keyboard = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One Telegram message: HTML text, an inline keyboard, and the forum topic it goes to."""

    text: str
    keyboard: Keyboard = ()
    # A forum topic's message_thread_id; None sends to the chat itself (or General).
    thread_id: int | None = None
