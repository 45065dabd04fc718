"""Turn a feed entry's texts into a short plain-text summary without boilerplate."""

import math
import re
import unicodedata
from collections.abc import Sequence

from bot.text.normalize import fold, html_to_paragraphs, tokenize

ELLIPSIS = "…"
# A sentence cut shorter than this share of the limit throws away too much; a word cut
# with an ellipsis keeps more of the story.
_MIN_SENTENCE_SHARE = 0.4
# Boilerplate is a short line; a longer paragraph is story text even when it happens to
# open like a prompt ("Read more books, the minister told pupils, ...").
_MAX_BOILERPLATE_CHARS = 250

# News agencies and picture libraries that appear alone as photo credits.
_AGENCY = (
    r"(?:reuters|ap|afp|getty(?: images)?|epa(?:-efe)?|pa(?: wire| media)?|dpa|efe|ansa|anp"
    r"|xinhua|tass|shutterstock|alamy|bloomberg|associated press|agence france-presse"
    r"|ap photo|afp via getty images)"
)

# Each pattern matches a whole paragraph (case-insensitively) that carries no story text.
_BOILERPLATE_PATTERNS = (
    # Links to other stories: "READ MORE: ...", "Read more of this story at Slashdot.",
    # "See also: ...", "More from TIME".
    r"(?:read|see) (?:more|also)\b.*",
    r"also (?:read|see)\b.*",
    r"more (?:from\b|:).*",
    r"see (?:all|the full)\b.*",
    # "Related: ..." (guardian) and "Related articles: ...".
    r"related(?: (?:articles?|stories|coverage|content|links?|reading|news))?\s*[:\uff1a].*",
    # Teasers that link to the full article, in the languages of the feeds we read
    # (guardian "Continue reading...", el pais "Seguir leyendo").
    r"(?:continue reading|keep reading|seguir leyendo|leer más|weiterlesen|mehr lesen"
    r"|lire la suite|leia mais|continua a leggere|читать далее)\b.*",
    # WordPress's attribution footer and its variants.
    r"the post .+ appeared first on .+",
    r"this (?:article|story|post|entry) (?:was )?(?:first |originally )?"
    r"(?:appeared|published|posted) (?:first )?(?:on|in|at) .+",
    # Print-edition notes: "Published in Dawn, February 17th, 2026".
    r"(?:first |originally )?published (?:in|on|by) [^,]{1,60},"
    r" \S+ \d{1,2}(?:st|nd|rd|th)?,? \d{4}\.?",
    # Photo credits: a lone "Reuters", "AFP/Getty Images", "(Chris Radburn/PA)".
    rf"[(\[]?{_AGENCY}(?:\s*/\s*(?:{_AGENCY}|file))*[)\]]?\.?",
    rf"[(\[]?[^()\[\]]{{1,80}}/\s*{_AGENCY}[)\]]?\.?",
    # Captions and credits: "Photo: AP", "Image: ...", "(Image credit: Kevin Frayer)" (npr).
    r"[(\[]?(?:photo(?:graph)?|image|picture|pic|video|foto|bild|illustration|credit)s?"
    r"(?: credit)?\s*[:\uff1a|].+",
    r"[(\[]?(?:photo(?:graph)?|image|picture|video|foto)s? (?:by|courtesy(?: of)?|via) .+",
    # Prompts to share, subscribe or follow.
    r"share (?:this|on|via)\b.*",
    r"sign up\b.*",
    r"subscribe\b.*",
    r"follow (?:us|our)\b.*",
    r"(?:like|find) us on\b.*",
    r"(?:get|download) (?:our|the) (?:free )?.{0,60}"
    r"\b(?:app|newsletter|email|briefing|podcast)s?\b.*",
    r"(?:click|tap) (?:here|the link)\b.*",
    # Ad slots whose label survives as text.
    r"(?:advertisements?|sponsored(?: content)?|anzeige|publicidad|реклама)",
    # Unexpanded WordPress shortcodes: "[time-brightcove not-tgx=”true”]" (time.com).
    r"\[[a-z][\w-]*(?:\s[^\]]*)?\]",
    # A bare link with nothing around it (dawn).
    r"(?:https?://|www\.)\S+",
)
# One pattern of alternatives: fullmatch tries each until one spans the whole paragraph, in
# one call instead of one per pattern.
_BOILERPLATE = re.compile("|".join(f"(?:{p})" for p in _BOILERPLATE_PATTERNS), re.IGNORECASE)

# A byline alone: "By Matt Spetalnick, Olivia Le Poidevin and Parisa Hafezi" (reuters),
# "Von Jule Reimer" and "Ottersbach, Niklas" (deutschlandfunk). Case matters: names are
# capitalised, sentences are not.
_NAME_WORD = r"(?:[A-ZÀ-ÖØ-Þ][\w'’.-]*|d[aeiu]|de[lr]?|v[ao]n|l[ae]|al|bin|el)"
_NAME = rf"{_NAME_WORD}(?: {_NAME_WORD}){{0,4}}"
_BYLINE = re.compile(
    rf"(?:By|BY|Von|Por|Par) {_NAME}(?:(?:,| and| und| y| et) {_NAME})*\.?"
    r"|[A-ZÀ-ÖØ-Þ][\w'’-]+, [A-ZÀ-ÖØ-Þ][\w'’-]+"
)

# Markers at the end of a paragraph that point to the full article: "[…]", "[...]",
# "[mehr]" (tagesschau), "Continue reading →"; and a short note in brackets after the last
# sentence, which is a credit, tag list or time stamp: "(Chris Radburn/PA)" (daily mail),
# "(Tesla, Elektroauto)" (golem), "(19:27)" (deutschlandfunk).
_TRAILING_MARKER = re.compile(
    r"\s*(?:[\[(](?:…|\.{3}|mehr|more|read more|weiter)[\])]"
    r"|(?:continue reading|read more|weiterlesen|seguir leyendo)\s*(?:…|\.{3}|»|\u203a|→)+"
    rf"|\([^()]{{1,80}}/\s*{_AGENCY}\)"
    r"|(?<=[.!?…\"”’»])\s*\([^().!?]{1,60}\))$",
    re.IGNORECASE,
)
# The last characters _TRAILING_MARKER can end with ("$" also matches before a final "\n"):
# a paragraph ending otherwise (most end in "." or a word) cannot match, and the regex, which
# is tried at every position, is not run on it.
_MARKER_ENDINGS = (")", "]", "…", "...", "»", "\u203a", "→")
# Feeds that truncate a description end it with "..." or "…", often mid-word ("domina...").
_TRUNCATION = re.compile(r"\s*(?:\.{3}|…)$")

# A sentence ends at . ! ? … with any closing quotes or brackets, before a space or the
# end; CJK full-width stops need no space after them.
_SENTENCE_END = re.compile(
    r"[.!?…]+[\"'”’»)\]」』]*(?=\s|$)"
    r"|[。\uff01\uff1f]+[\"'”’»)\]」』\uff09]*"
)
# Words whose trailing "." is not a sentence end: "Sen. Bob Menendez", "Jan. 30".
_ABBREVIATIONS = frozenset(
    {
        "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "gen", "col", "lt", "sgt", "capt",
        "gov", "sen", "rep", "rev", "vs", "jan", "feb", "mar", "apr", "jun", "jul", "aug",
        "sep", "sept", "oct", "nov", "dec",
    }
)  # fmt: skip
# Punctuation that reads badly right before an added ellipsis.
_DANGLING = " ,;:–—-"


def summarize(title: str, bodies: Sequence[str], limit: int = 300) -> str | None:
    """Return the entry's cleanest text cut to limit characters, or None if none is left."""
    return summarize_paragraphs(title, [html_to_paragraphs(body) for body in bodies], limit)


def summarize_paragraphs(title: str, bodies: Sequence[list[str]], limit: int = 300) -> str | None:
    """Return summarize's result from each body's html_to_paragraphs, already computed."""
    if limit < 1:
        raise ValueError(f"limit must be positive, got {limit}")
    candidates = [_clean(title, paragraphs) for paragraphs in bodies]
    paragraphs = max(candidates, key=_joined_length, default=[])
    return _shorten(paragraphs, limit) if paragraphs else None


def _joined_length(paragraphs: list[str]) -> int:
    """Return the length of the paragraphs joined into one text."""
    return len(" ".join(paragraphs))


def _clean(title: str, paragraphs: list[str]) -> list[str]:
    """Return the paragraphs without boilerplate, repeats, or a repeat of the title."""
    kept: list[str] = []
    seen: set[str] = set()
    for paragraph in paragraphs:
        text = _strip_trailing_markers(paragraph)
        key = fold(text)
        if not text or key in seen or _is_boilerplate(text):
            continue
        seen.add(key)
        kept.append(text)
    if kept and _repeats_title(title, kept[0]):
        kept.pop(0)
    return kept


def _strip_trailing_markers(paragraph: str) -> str:
    """Remove read-more markers and credits from the end of a paragraph."""
    if not paragraph.removesuffix("\n").endswith(_MARKER_ENDINGS):
        return paragraph
    stripped = _TRAILING_MARKER.sub("", paragraph)
    while stripped != paragraph:
        paragraph = stripped
        stripped = _TRAILING_MARKER.sub("", paragraph)
    return paragraph


def _is_boilerplate(paragraph: str) -> bool:
    """Return whether the paragraph is a prompt, credit or footer rather than story text."""
    if len(paragraph) > _MAX_BOILERPLATE_CHARS:
        return False
    if _BYLINE.fullmatch(paragraph):
        return True
    return _BOILERPLATE.fullmatch(paragraph) is not None


def _repeats_title(title: str, paragraph: str) -> bool:
    """Return whether the paragraph says the title again, ignoring case and punctuation."""
    words = tokenize(title)
    return bool(words) and words == tokenize(paragraph)


def _shorten(paragraphs: list[str], limit: int) -> str:
    """Return the joined text if it fits, else its longest sentence prefix, else a word cut."""
    text, truncated = _split_truncation(" ".join(paragraphs))
    if not truncated and len(text) <= limit:
        return text
    min_chars = math.ceil(limit * _MIN_SENTENCE_SHARE)
    paragraph_ends = _paragraph_ends(paragraphs)
    if truncated:
        # The last paragraph stops where the source cut it, not at a sentence end.
        paragraph_ends.pop()
    cut = _last_sentence_end(text, paragraph_ends, limit, min_chars)
    if cut:
        return text[:cut]
    return _word_prefix(text, limit - len(ELLIPSIS), min_chars) + ELLIPSIS


def _paragraph_ends(paragraphs: list[str]) -> list[int]:
    """Return where each paragraph ends in the paragraphs joined with spaces."""
    ends: list[int] = []
    offset = 0
    for paragraph in paragraphs:
        offset += len(paragraph)
        ends.append(offset)
        offset += 1
    return ends


def _split_truncation(text: str) -> tuple[str, bool]:
    """Return text without a source's truncation mark, and whether it had one."""
    if not text.removesuffix("\n").endswith(("...", ELLIPSIS)):
        return text, False  # the pattern, tried at every position, cannot match
    complete = _TRUNCATION.sub("", text)
    return complete, complete != text


def _last_sentence_end(text: str, paragraph_ends: list[int], limit: int, min_chars: int) -> int:
    """Return the last sentence or paragraph end within limit and past min_chars, or 0."""
    # A paragraph end is a sentence end even without a full stop: standfirsts and
    # headings often have none.
    sentence_ends = (
        match.end()
        for match in _SENTENCE_END.finditer(text, 0, limit + 1)
        if not _ends_with_abbreviation(text, match.start())
    )
    fitting = [end for end in (*sentence_ends, *paragraph_ends) if min_chars <= end <= limit]
    return max(fitting, default=0)


def _ends_with_abbreviation(text: str, stop: int) -> bool:
    """Return whether the "." at stop closes an abbreviation or an initial, not a sentence."""
    if text[stop] != ".":
        return False
    before = text[:stop].rsplit(" ", 1)[-1]
    last_part = before.rsplit(".", 1)[-1].lstrip("([\"'“‘«")
    # A single letter is an initial ("J. Smith", "U.S."); a known short word is a title.
    return (len(last_part) == 1 and last_part.isalpha()) or last_part.lower() in _ABBREVIATIONS


def _word_prefix(text: str, budget: int, min_chars: int) -> str:
    """Return at most budget characters of text, ending between words where one is near."""
    if len(text) <= budget:
        # Only a text the source truncated gets here whole; its last word was likely cut
        # short ("domina..."), so it goes.
        space = text.rfind(" ")
        head = text[:space] if space > 0 else text
    elif text[budget].isspace():
        head = text[:budget]
    else:
        head = _drop_partial_word(text, budget, min_chars)
    return head.rstrip(_DANGLING)


def _drop_partial_word(text: str, budget: int, min_chars: int) -> str:
    """Return the text before budget without the word that budget cuts through."""
    space = text.rfind(" ", 0, budget)
    if space >= min_chars:
        return text[:space]
    # No space near enough (CJK, a long link): cut inside the word, but never inside a
    # character sequence that draws as one symbol.
    return text[: _grapheme_boundary(text, budget)]


def _grapheme_boundary(text: str, index: int) -> int:
    """Return the nearest index at or before index that does not split a drawn symbol."""
    while 0 < index < len(text) and _continues_symbol(text, index):
        index -= 1
    return index


def _continues_symbol(text: str, index: int) -> bool:
    """Return whether text[index] belongs to the symbol drawn by the characters before it."""
    char = text[index]
    code = ord(char)
    if unicodedata.combining(char) or text[index - 1] == "\u200d" or char == "\u200d":
        return True
    # Variation selectors, skin-tone modifiers and emoji tag characters.
    if 0xFE00 <= code <= 0xFE0F or 0x1F3FB <= code <= 0x1F3FF or 0xE0020 <= code <= 0xE007F:
        return True
    # Flags are pairs of regional indicators; an odd run before index means a pair is open.
    if _is_regional_indicator(char):
        run = 0
        while index - run - 1 >= 0 and _is_regional_indicator(text[index - run - 1]):
            run += 1
        return run % 2 == 1
    return False


def _is_regional_indicator(char: str) -> bool:
    """Return whether char is one half of a flag emoji."""
    return 0x1F1E6 <= ord(char) <= 0x1F1FF
