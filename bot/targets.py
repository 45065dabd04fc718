"""Which chat a command acts on: an argument that starts with "@name" names a channel.

Pure: "/subscribe @NewsDesk Ukraine, NATO" sent in a private chat acts on the channel
@NewsDesk with "Ukraine, NATO"; handlers/channels.py checks the channel is linked and that
the sender administers it. A t.me link names the channel as well as "@name" does, and a
channel without a username is named by its id ("-100..."), as the bot shows it.
"""

import re
from dataclasses import dataclass

# Telegram usernames: 5 to 32 letters, digits and underscores, starting with a letter; a
# channel's id: -100 and its number.
_TARGET = re.compile(
    r"(?:(?:@|(?:https?://)?t\.me/)(?P<name>[A-Za-z][A-Za-z0-9_]{4,31})|(?P<id>-100\d{1,16}))"
    r"(?:[\s,:;]+|$)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Target:
    """A channel named at the start of a command's argument, and the rest of the argument."""

    # The @username without its "@" ("" when the channel is named by its id).
    username: str
    rest: str
    chat_id: int | None = None

    @property
    def name(self) -> str:
        """The channel as the person named it: "@username" or its id."""
        return f"@{self.username}" if self.chat_id is None else str(self.chat_id)


def split_target(argument: str) -> Target | None:
    """Return the channel the argument starts with ("@name" or a t.me link) and what follows
    it, or None when it names none (then the command acts on the chat it was sent in)."""
    found = _TARGET.match(argument.strip())
    if found is None:
        return None
    rest = argument.strip()[found.end() :].strip()
    if found["id"] is not None:
        return Target("", rest, int(found["id"]))
    return Target(found["name"], rest)
