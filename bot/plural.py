"""Counted nouns for English texts: "1 subscription", "2 subscriptions".

One helper on purpose: when the texts move to a gettext catalogue, its ngettext replaces
this function and nothing else changes.
"""


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """Return count and the noun in the form English uses with it ("0 feeds", "1 feed")."""
    noun = singular if count == 1 else (plural or singular + "s")
    return f"{count} {noun}"
