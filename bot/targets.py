"""Which chat a command acts on: an argument that starts with "@name" names a channel.

Pure: "/subscribe @NewsDesk Ukraine, NATO" sent in a private chat acts on the channel
@NewsDesk with "Ukraine, NATO"; handlers/channels.py checks the channel is linked and that
the sender administers it. A t.me link names the channel as well as "@name" does.
"""

import re
from dataclasses import dataclass

# Telegram usernames: 5 to 32 letters, digits and underscores, starting with a letter.
_TARGET = re.compile(
    r"(?:@|(?:https?://)?t\.me/)(?P<name>[A-Za-z][A-Za-z0-9_]{4,31})(?:[\s,:;]+|$)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Target:
    """A channel named at the start of a command's argument, and the rest of the argument."""

    username: str
    rest: str


def split_target(argument: str) -> Target | None:
    """Return the channel the argument starts with ("@name" or a t.me link) and what follows
    it, or None when it names none (then the command acts on the chat it was sent in)."""
    found = _TARGET.match(argument.strip())
    if found is None:
        return None
    return Target(found["name"], argument.strip()[found.end() :].strip())
