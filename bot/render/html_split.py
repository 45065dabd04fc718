"""Cut one over-long line of Telegram HTML into pieces that each fit in a message.

A reply is split at line breaks first (bot.render.html.split_message); only a single line
longer than a whole message (a huge feed URL in /feeds, a feed's long error) comes here.
"""

import re
from html import unescape

# A tag, a character reference, or one character: the only places a cut may fall are
# between these, so a cut never lands inside a tag or an entity such as "&amp;".
_TOKEN = re.compile(r"<[^<>]*>|&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);|.", re.S)
_TAG_NAME = re.compile(r"</?\s*([A-Za-z][A-Za-z0-9-]*)")


def _is_tag(token: str) -> bool:
    return len(token) > 1 and token[0] == "<" and token[-1] == ">"


def _width(token: str) -> int:
    """Return the token's visible length in UTF-16 units, as Telegram counts it."""
    if _is_tag(token):
        return 0
    text = unescape(token) if token[0] == "&" else token
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _open_tags_before(tokens: list[str]) -> list[tuple[tuple[str, str], ...]]:
    """Return, for each token index (and the end), the tags open just before it."""
    stacks: list[tuple[tuple[str, str], ...]] = []
    stack: list[tuple[str, str]] = []
    for token in tokens:
        stacks.append(tuple(stack))
        if not _is_tag(token):
            continue
        name_match = _TAG_NAME.match(token)
        if name_match is None or token.endswith("/>"):
            continue
        name = name_match.group(1).lower()
        if token.startswith("</"):
            if stack and stack[-1][0] == name:
                stack.pop()
        else:
            stack.append((name, token))
    stacks.append(tuple(stack))
    return stacks


def split_line(line: str, limit: int) -> list[str]:
    """Return line cut into pieces of at most limit visible units, tags closed and reopened.

    A cut falls at the last space when that keeps more than half of what fits (the space
    goes), otherwise at the last character that fits; tags open at a cut are closed at the
    end of one piece and opened again, attributes included, at the start of the next.
    """
    tokens = _TOKEN.findall(line)
    widths = [_width(token) for token in tokens]
    stacks = _open_tags_before(tokens)
    pieces: list[str] = []
    start = 0
    while start < len(tokens):
        end, resume = _cut(tokens, widths, start, limit)
        opening = "".join(tag for _, tag in stacks[start])
        closing = "".join(f"</{name}>" for name, _ in reversed(stacks[end]))
        pieces.append(opening + "".join(tokens[start:end]) + closing)
        start = resume
    return pieces


def _cut(tokens: list[str], widths: list[int], start: int, limit: int) -> tuple[int, int]:
    """Return where the piece starting at start ends, and where the next one starts."""
    used = 0
    index = start
    space: tuple[int, int] | None = None  # (index of the last space, units before it)
    while index < len(tokens) and used + widths[index] <= limit:
        if tokens[index].isspace() and index > start:
            space = (index, used)
        used += widths[index]
        index += 1
    if index == len(tokens):
        return index, index
    if space is not None and space[1] > limit // 2:
        return space[0], space[0] + 1
    end = index
    # An opening tag right before the cut belongs with the text it opens, in the next piece.
    while end > start and _is_tag(tokens[end - 1]) and not tokens[end - 1].startswith("</"):
        end -= 1
    if end == start:  # not even one character fits (a limit below 2): take one anyway
        end = index + 1
    return end, end
