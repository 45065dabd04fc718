"""Near-identical titles: the same story from another outlet, told by its title (pure).

Two outlets running one story rarely give it the very same title: "Anschlag in Magdeburg -
Zahl der Todesopfer auf fünf gestiegen" (Deutschlandfunk) and "Anschlag in Magdeburg: Zahl
der Toten auf fünf gestiegen" (Tagesschau). Two normalised titles (bot.ingest.stories.
normalised_title) name the same story when rapidfuzz's token_set_ratio scores them at least
SIMILARITY, both say enough to be compared (MIN_CONTENT_WORDS words that are neither stop
words, format words such as "live updates" or "briefing", nor numbers) and their numbers
agree ("Brownlow 2020: all the looks" is not "Brownlow 2021"; a death toll that rose is news),
as must a negation ("Trump will not meet Putin" is not "Trump will meet Putin"). Other
opposites a string similarity cannot see: "Kyiv and Moscow agree to new talks in Geneva" and
"…reject new talks in Vienna" score 89.

SIMILARITY was set on the real corpus (/work/shared/corpus/feeds/real, 2,964 titles from
58 feeds, every pair from two outlets; the README's "One alert per story" has the counts):
token_set_ratio scores a reworded title of one story 80-100 ("Peru's Congress votes to
impeach President Jose Jeri in government shake-up" / "Peru Votes to Impeach President José
Jerí", 86), and a title whose words are all inside a longer one 100, which is why short and
generic titles ("Meeting", "What in the World?") are never compared. Below 85 the corpus
still has true pairs, but also two moments of one story that deserve two alerts.

Comparing every new title with every title of the last 48 h would cost too much at poll
time, so TitleIndex keeps the window's titles in memory under their content words and looks
a title up by its KEY_WORDS rarest ones (fewest titles in the window), skipping any word in
more than MAX_KEY_TITLES titles: a candidate must share two of those keys (one when the title
has only one), so only a few titles are ever scored, however many the window holds.
"""

import functools
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain

from rapidfuzz.fuzz import token_set_ratio

SIMILARITY = 85.0
MIN_CONTENT_WORDS = 4
KEY_WORDS = 8
MAX_KEY_TITLES = 64

# Folded function words (en, de, fr, es, uk, ru) and words that name a format, not a story:
# neither says which story a title is about.
_STOP_WORD_LINES = (
    "a an the of to in on at for from by with and or but as is are was were be been has have",
    "had it its this that these those after before over under into about amid against says",
    "say said will would could can may not no new more than up out off via vs",
    "der die das den dem des ein eine einer und oder im in am zu zum zur mit von vom auf für",
    "ist sind wird nach bei aus als nicht",
    "le la les un une des du de et ou au aux en sur pour par avec dans est sont pas",
    "el los las una unos y o del al con por para es son se su sus que",
    "і й та в у на з із зі до від за по про для що це як не а але чи",
    "и в во на с со к от за по о об для что это как не а но или из у же",
    "live updates update blog briefing brief news latest breaking today daily headlines",
    "roundup week review what we know so far watch video photos pictures podcast opinion",
    "morning evening weekend edition digest explainer analysis quiz",
    "новини новина онлайн наживо огляд коротко брифінг головне дня день тижня",
    "новости новость онлайн трансляция обзор коротко брифинг главное дня день недели",
)
STOP_WORDS = frozenset(word for line in _STOP_WORD_LINES for word in line.split())
# Words that turn a title around ("t" is what is left of "won't", "don't").
NEGATIONS = frozenset(
    ["not", "no", "never", "t", "nicht", "kein", "keine", "pas", "не", "ні", "нет"]
)


@dataclass(frozen=True, slots=True)
class TitleShape:
    """What comparing a normalised title needs, worked out once."""

    words: tuple[str, ...]  # content words, distinct, in order
    numbers: frozenset[str]
    negated: bool


# A poll looks a title up (find) and then keeps it (add): its shape is worked out once.
@functools.lru_cache(maxsize=4096)
def title_shape(normalised: str) -> TitleShape | None:
    """Return the title's shape, or None when it says too little to be compared."""
    words: dict[str, None] = {}
    numbers: set[str] = set()
    negated = False
    for word in normalised.split():
        if word in NEGATIONS:
            negated = True
        elif word.isdigit():
            numbers.add(word)
        elif word not in STOP_WORDS and len(word) > 1:
            words[word] = None
    if len(words) < MIN_CONTENT_WORDS:
        return None
    return TitleShape(tuple(words), frozenset(numbers), negated)


def same_story(first: str, second: str) -> bool:
    """Tell whether two normalised titles (from different outlets) name the same story."""
    one, other = title_shape(first), title_shape(second)
    return one is not None and other is not None and _similar(first, one, second, other)


def _similar(first: str, one: TitleShape, second: str, other: TitleShape) -> bool:
    if one.numbers != other.numbers or one.negated != other.negated:
        return False
    return token_set_ratio(first, second, score_cutoff=SIMILARITY) >= SIMILARITY


@dataclass(frozen=True, slots=True)
class _Entry:
    story_id: int
    feed_id: int | None
    title: str
    shape: TitleShape
    seen_at: float


class TitleIndex:
    """The original stories' titles of the last `window` seconds, by content word."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._entries: dict[int, _Entry] = {}
        self._by_age: deque[_Entry] = deque()  # in the order added: seen_at ascending
        self._by_word: dict[str, dict[int, None]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, story_id: int, feed_id: int | None, normalised: str, seen_at: float) -> None:
        """Remember an original story's title (a title too short or generic is not kept)."""
        shape = title_shape(normalised)
        if shape is None or story_id in self._entries:
            return
        entry = _Entry(story_id, feed_id, normalised, shape, seen_at)
        self._entries[story_id] = entry
        self._by_age.append(entry)
        by_word = self._by_word
        for word in shape.words:
            ids = by_word.get(word)
            if ids is None:
                by_word[word] = {story_id: None}
            else:
                ids[story_id] = None

    def expire(self, now: float) -> None:
        """Forget the titles seen before the window that ends now."""
        since = now - self.window
        while self._by_age and self._by_age[0].seen_at < since:
            entry = self._by_age.popleft()
            del self._entries[entry.story_id]
            for word in entry.shape.words:
                ids = self._by_word[word]
                del ids[entry.story_id]
                if not ids:
                    del self._by_word[word]

    def find(self, normalised: str, feed_id: int | None) -> int | None:
        """Return the earliest kept story of another feed whose title names the same story."""
        shape = title_shape(normalised)
        if shape is None:
            return None
        found = [
            entry.story_id
            for entry in self._candidates(shape)
            if entry.feed_id != feed_id and _similar(normalised, shape, entry.title, entry.shape)
        ]
        return min(found, default=None)

    def _candidates(self, shape: TitleShape) -> Iterator[_Entry]:
        """The kept titles sharing enough of this title's rarest words (a few at most)."""
        by_word = self._by_word
        postings = [ids for word in shape.words if (ids := by_word.get(word))]
        keys = sorted((ids for ids in postings if len(ids) <= MAX_KEY_TITLES), key=len)
        keys = keys[:KEY_WORDS]
        if not keys:
            return
        needed = min(2, len(keys))
        # Counted at C speed, in the order first seen (as a dict keeps it).
        shared = Counter(chain.from_iterable(keys))
        for story_id, count in shared.items():
            if count >= needed:
                yield self._entries[story_id]
