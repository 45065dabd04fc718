"""An analysed story text kept compactly, to be matched again later (the dry run, /try).

A story's analysis (its words, lemma keys, case and language) is what live matching saw;
storing it lets `/try` ask a new query of the past week's stories and get exactly the answer
live matching would have given. Packed in the parser workers, unpacked in the bot.

Pure: values in, bytes out, and back.
"""

import zlib

from bot.text.analyzer import AnalyzedText

# Bumped when the layout changes; unpack refuses what it does not know.
PACKED_FORMAT = b"1"
# Separators no word or lemma key holds: words are runs of \w, keys are words or "uk:" words.
_FIELD = b"\x1f"
_ITEM = "\x1e"
_AT = "\x1d"


class PackedTextError(ValueError):
    """The bytes are not a packed analysis this version can read."""


def pack(text: AnalyzedText) -> bytes:
    """Return the analysis as compressed bytes (see unpack)."""
    extra = _ITEM.join(f"{position}{_AT}{key}" for position, key in text.extra)
    fields = (
        PACKED_FORMAT,
        (text.language or "").encode(),
        " ".join(text.words).encode(),
        extra.encode(),
        text.cases,
    )
    return zlib.compress(_FIELD.join(fields), 6)


def unpack(packed: bytes) -> AnalyzedText:
    """Return the analysis pack() stored; raise PackedTextError for anything else."""
    try:
        fields = zlib.decompress(packed).split(_FIELD, 4)
    except zlib.error as error:
        raise PackedTextError(f"not a packed text: {error}") from error
    if len(fields) != 5 or fields[0] != PACKED_FORMAT:
        raise PackedTextError("not a packed text of a known format")
    version, language, words, extra, cases = fields
    del version
    pairs: list[tuple[int, str]] = []
    for item in extra.decode().split(_ITEM) if extra else ():
        position, _, key = item.partition(_AT)
        pairs.append((int(position), key))
    return AnalyzedText(
        words=tuple(words.decode().split(" ")) if words else (),
        extra=tuple(pairs),
        cases=bytes(cases),
        language=language.decode() or None,
    )
