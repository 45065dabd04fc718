"""Deterministic inputs: stories from the real-feed corpus (or generated), subscriptions.

Stories: a corpus item's title plus about 300 words of text, continued with the following
items of the same corpus when the item itself is short. Without the corpus, words are drawn
from a generated Zipf-distributed language with a fixed seed (its most frequent words are
function words, as in news), in a bounded amount: about as many words as the real corpus
holds, so the same figures come out of either.

Subscriptions: every term comes from a vocabulary of content words (the corpus's most
widespread words, function words excluded). How many users pick a term follows Zipf's law
(exponent 1) over a seeded shuffle of that vocabulary: how popular a subscription is does not
depend on how often the word occurs in news. Mix per subscription: 70% one word, 15% a quoted
phrase (a frequent bigram of vocabulary words), 10% two words (AND), 2.5% a word with an
exclusion, 2.5% a prefix.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.common import CORPUS_DIR, SEED
from bot.ingest.parse import parse_feed
from bot.matching.query import parse_query
from bot.text.analyzer import analyze
from bot.text.normalize import html_to_paragraphs

# Function words of the corpus's main languages: nobody subscribes to them.
_ENGLISH_STOPWORD_TEXT = """
    a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each
    even ever every few for from further had has have having he her here hers herself him
    himself his how however i if in into is it its itself just least less like many may me
    might more most much must my myself never new no nor not now of off often on once one
    only or other our ours out over own per same say says said she should since so some
    still such than that the their theirs them then there these they this those though
    through to too two under until up upon us very via was we were what when where which
    while who whom whose why will with within without would yet you your yours told
    according among around back came come get got made make next three took use used way
    well went year years day days week time first last
"""
_OTHER_STOPWORD_TEXT = """
    der die das und ein eine einer eines den dem des ist sind war nicht mit von auf für
    zu im sich auch als wie bei nach aus um wird werden hat haben noch nur
    le la les un une du et est sont pas pour sur dans par avec qui que au aux ce
    el los las y en por con para una del al es se lo como más pero sus su
"""
_RUSSIAN_STOPWORD_TEXT = "для что как это был была были при после также"
STOPWORDS = frozenset(
    (_ENGLISH_STOPWORD_TEXT + _OTHER_STOPWORD_TEXT + _RUSSIAN_STOPWORD_TEXT).split()
)
MIN_TERM_LENGTH = 3
MIN_ITEM_WORDS = 5
PREFIX_LENGTH = 5
GENERATED_LANGUAGE_WORDS = 30_000
GENERATED_ITEMS = 3_000
# Bounds of a generated corpus. The real one holds ~270k words; a generated one as large gives
# the full workload its 5,000-word vocabulary and 1,000 phrases in ~100 MB, whatever is asked.
GENERATED_MIN_WORDS = 30_000
GENERATED_MAX_WORDS = 300_000
# The subscription mix: kind and cumulative share.
MIX = (("word", 0.70), ("phrase", 0.85), ("and", 0.95), ("exclude", 0.975), ("prefix", 1.0))


@dataclass(frozen=True)
class CorpusItem:
    """A news item as text: title, plain text, and its tokens."""

    title: str
    text: str
    tokens: tuple[str, ...]


@dataclass(frozen=True)
class Story:
    """A story to match: its title, its text, and the words the matcher sees."""

    title: str
    text: str
    words: tuple[str, ...]


@dataclass(frozen=True)
class Corpus:
    """The items stories are made from, and where they came from."""

    items: tuple[CorpusItem, ...]
    source: str
    kind: str  # "real" (feeds read from a directory) or "generated"

    @property
    def words(self) -> int:
        """Count the words of every item."""
        return sum(len(item.tokens) for item in self.items)

    def describe(self) -> dict[str, object]:
        """Say which corpus this is, as results.json records it."""
        return {
            "kind": self.kind,
            "source": self.source,
            "items": len(self.items),
            "words": self.words,
        }


def load_corpus(min_words: int | None, directory: Path = CORPUS_DIR) -> Corpus:
    """Read real feed items until there are min_words words (None: all); else generate them.

    Without a readable feed in directory the corpus is generated, and then never holds more
    than GENERATED_MAX_WORDS words, whatever min_words asks for.
    """
    files = sorted(directory.glob("*.xml")) if directory.is_dir() else []
    items: list[CorpusItem] = []
    words = 0
    for path in files:
        parsed = parse_feed(path.read_bytes(), {})
        for entry in parsed.entries:
            text = " ".join(html_to_paragraphs(max(entry.bodies, key=len, default="")))
            title = " ".join(html_to_paragraphs(entry.title)) or entry.title
            tokens = analyze(title + "\n" + text).words
            if len(tokens) >= MIN_ITEM_WORDS and title:
                items.append(CorpusItem(title, text, tokens))
                words += len(tokens)
        if min_words is not None and words >= min_words:
            break
    if items:
        return Corpus(tuple(items), f"{len(items)} real items from {directory}", "real")
    return generated_corpus(GENERATED_MAX_WORDS if min_words is None else min_words)


def generated_corpus(min_words: int) -> Corpus:
    """Return items written in a made-up Zipf-distributed language, with a fixed seed.

    The word count is min_words clamped to [GENERATED_MIN_WORDS, GENERATED_MAX_WORDS].
    """
    min_words = min(max(min_words, GENERATED_MIN_WORDS), GENERATED_MAX_WORDS)
    rng = random.Random(SEED)
    # As in news, the most frequent words are function words: without them the made-up
    # content words, subscription terms, would crowd every story (5x the matching cost).
    function_words = _ENGLISH_STOPWORD_TEXT.split()
    made_up = _made_up_words(rng, GENERATED_LANGUAGE_WORDS - len(function_words))
    language = function_words + [word for word in made_up if word not in STOPWORDS]
    cumulative = list(itertools.accumulate(1 / (rank + 1) ** 1.1 for rank in range(len(language))))
    items: list[CorpusItem] = []
    words = 0
    while words < min_words or len(items) < GENERATED_ITEMS // 10:
        length = rng.randint(20, 200)
        drawn = rng.choices(language, cum_weights=cumulative, k=length)
        title = " ".join(drawn[:8]).capitalize()
        text = " ".join(drawn[8:]) + "."
        items.append(CorpusItem(title, text, analyze(title + "\n" + text).words))
        words += length
    return Corpus(tuple(items), f"{len(items)} generated items (seed {SEED})", "generated")


def _made_up_words(rng: random.Random, count: int) -> list[str]:
    consonants, vowels = "bcdfghjklmnprstvwz", "aeiou"
    words: set[str] = set()
    while len(words) < count:
        syllables = rng.randint(1, 4)
        words.add("".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(syllables)))
    return sorted(words)


def make_stories(corpus: Corpus, count: int, words_per_story: int) -> list[Story]:
    """Return count stories: an item's title, then ~words_per_story words of text."""
    items = corpus.items
    stories: list[Story] = []
    for number in range(count):
        start = number % len(items)
        text_words: list[str] = []
        for offset in itertools.count():
            text_words += items[(start + offset) % len(items)].text.split()
            if len(text_words) >= words_per_story or offset > len(items):
                break
        title = items[start].title
        text = " ".join(text_words[:words_per_story])
        stories.append(Story(title, text, analyze(title + "\n" + text).words))
    return stories


@dataclass(frozen=True)
class Vocabulary:
    """Subscription terms, most popular first, and their Zipf cumulative weights."""

    words: tuple[str, ...]
    phrases: tuple[tuple[str, str], ...]
    word_weights: tuple[float, ...]
    phrase_weights: tuple[float, ...]


def zipf_weights(count: int) -> tuple[float, ...]:
    """Return cumulative Zipf (exponent 1) weights for ranks 1..count."""
    return tuple(itertools.accumulate(1 / rank for rank in range(1, count + 1)))


def make_vocabulary(corpus: Corpus, size: int, phrases: int) -> Vocabulary:
    """Pick the size most widespread content words and the most frequent bigrams of them."""
    document_frequency: Counter[str] = Counter()
    for item in corpus.items:
        # dict.fromkeys, not set: ties in most_common keep the text order, whatever the hash seed.
        document_frequency.update(dict.fromkeys(item.tokens, 1))
    candidates = [
        word
        for word, _ in document_frequency.most_common()
        if word.isalpha() and len(word) >= MIN_TERM_LENGTH and word not in STOPWORDS
    ]
    chosen = candidates[:size]
    members = set(chosen)
    bigrams: Counter[tuple[str, str]] = Counter()
    for item in corpus.items:
        for first, second in itertools.pairwise(item.tokens):
            if first in members and second in members and first != second:
                bigrams[(first, second)] += 1
    chosen_phrases = [pair for pair, _ in bigrams.most_common(phrases)]
    rng = random.Random(SEED)
    rng.shuffle(chosen)
    rng.shuffle(chosen_phrases)
    return Vocabulary(
        words=tuple(chosen),
        phrases=tuple(chosen_phrases),
        word_weights=zipf_weights(len(chosen)),
        phrase_weights=zipf_weights(len(chosen_phrases)),
    )


Subscription = tuple[int, str, str]


class _Picker:
    """Draw vocabulary terms by popularity."""

    def __init__(self, vocabulary: Vocabulary, rng: random.Random) -> None:
        self._vocabulary = vocabulary
        self._rng = rng

    def word(self) -> str:
        weights = self._vocabulary.word_weights
        index = bisect.bisect(weights, self._rng.random() * weights[-1])
        return self._vocabulary.words[min(index, len(weights) - 1)]

    def phrase(self) -> tuple[str, str]:
        weights = self._vocabulary.phrase_weights
        if not weights:
            return (self.word(), self.word())
        index = bisect.bisect(weights, self._rng.random() * weights[-1])
        return self._vocabulary.phrases[min(index, len(weights) - 1)]

    def query(self) -> str:
        draw = self._rng.random()
        kind = next(name for name, share in MIX if draw < share)
        if kind == "word":
            return self.word()
        if kind == "phrase":
            return '"{} {}"'.format(*self.phrase())
        first, second = self.word(), self.word()
        if kind == "and":
            return f"{first} {second}" if first != second else first
        if kind == "exclude":
            return f"{first} -{second}" if first != second else first
        return first[: min(PREFIX_LENGTH, max(MIN_TERM_LENGTH, len(first) - 2))] + "*"


def make_subscriptions(
    vocabulary: Vocabulary, users: int, per_user: int, first_user_id: int = 1
) -> list[Subscription]:
    """Return (user_id, normalised query, display) for users x per_user distinct queries."""
    rng = random.Random(SEED + 1)
    picker = _Picker(vocabulary, rng)
    subscriptions: list[Subscription] = []
    normalised_of: dict[str, str] = {}
    for user_id in range(first_user_id, first_user_id + users):
        mine: dict[str, str] = {}
        attempts = 0
        while len(mine) < per_user and attempts < per_user * 20:
            attempts += 1
            display = picker.query()
            normalised = normalised_of.get(display)
            if normalised is None:
                normalised = normalised_of[display] = parse_query(display).normalised
            mine.setdefault(normalised, display)
        subscriptions.extend((user_id, normalised, display) for normalised, display in mine.items())
    return subscriptions


def kinds(subscriptions: Sequence[Subscription]) -> Counter[str]:
    """Count subscriptions by kind, to check the mix."""
    counts: Counter[str] = Counter()
    for _, normalised, _ in subscriptions:
        if '"' in normalised:
            counts["phrase"] += 1
        elif "*" in normalised:
            counts["prefix"] += 1
        elif " -" in normalised:
            counts["exclude"] += 1
        elif " " in normalised:
            counts["and"] += 1
        else:
            counts["word"] += 1
    return counts


def chunks(values: Sequence[Subscription], size: int) -> Iterator[Sequence[Subscription]]:
    """Yield consecutive slices of at most size values."""
    for start in range(0, len(values), size):
        yield values[start : start + size]
