"""Ukrainian and Russian feeds made of real word forms, for when the corpus is absent.

The words come from pymorphy3's own dictionaries (the ones the bot lemmatises with): word
forms under seeded random three-letter prefixes, a few per prefix, so a lemma shows up in
several of its forms as in news. Their frequency follows Zipf's law (exponent 1.1, as
bench/workload.py) over a seeded shuffle, with each language's commonest function words
(checked to be in the dictionary) at the top ranks. Feeds alternate uk and ru and declare
their language; stories are short, as the corpus's uk/ru items are (a title and ~40 words).
Only dictionary words: names and new words the dictionary lacks (3-7% of the corpus's
uk/ru words), which take pymorphy3's slower guessing path, are missing, so this workload
costs morphology somewhat less than real news does.
"""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

from bench.common import SEED
from bench.harness import feed_body
from bot.text.morphology import analyzer
from tests.feedserver import Item

LANGUAGES = ("uk", "ru")
ALPHABETS = {"uk": "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя", "ru": "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"}
FUNCTION_WORDS = {
    "uk": """і в на з що не до у та за як це від по для про але його її їх він вона вони
        ми також який яка які було буде бути після під над між щодо через році року під
        час вже ще може має понад""",
    "ru": """и в не на что с по как это из к у за от для о но его их он она они мы
        также который которая которые было будет быть после под над между через году
        года время уже еще может имеет более""",
}
PER_PREFIX = 5
PREFIX_SCAN = 200
TITLE_WORDS = 8
TEXT_WORDS = 40


def dictionary_words(language: str, count: int, rng: random.Random) -> list[str]:
    """Return count distinct word forms of the language's dictionary, function words first."""
    dictionary = analyzer(language).dictionary
    found = dict.fromkeys(
        word for word in FUNCTION_WORDS[language].split() if dictionary.word_is_known(word)
    )
    alphabet = ALPHABETS[language]
    while len(found) < count:
        prefix = "".join(rng.choice(alphabet) for _ in range(3))
        forms = dict.fromkeys(
            word for word, *_ in itertools.islice(dictionary.iter_known_words(prefix), PREFIX_SCAN)
        )
        for word in rng.sample(sorted(forms), min(PER_PREFIX, len(forms))):
            found.setdefault(word)
    return list(found)[:count]


def _zipf(words: list[str], rng: random.Random, function_words: int) -> list[float]:
    # Function words keep their ranks at the top; the rest are shuffled under them.
    rest = words[function_words:]
    rng.shuffle(rest)
    words[function_words:] = rest
    return list(itertools.accumulate(1 / (rank + 1) ** 1.1 for rank in range(len(words))))


def generated_feeds(
    count: int, items_per_feed: int, vocabulary: int
) -> tuple[list[bytes], dict[str, object]]:
    """Return count RSS bodies alternating uk and ru, and a description of the corpus."""
    rng = random.Random(SEED)
    languages = {}
    for language in LANGUAGES:
        words = dictionary_words(language, vocabulary, rng)
        function_words = len(set(FUNCTION_WORDS[language].split()) & set(words))
        languages[language] = (words, _zipf(words, rng, function_words))
    now = datetime.now(UTC)
    bodies: list[bytes] = []
    total = 0
    for feed in range(count):
        language = LANGUAGES[feed % len(LANGUAGES)]
        words, weights = languages[language]
        items: list[Item] = []
        for number in range(items_per_feed):
            drawn = rng.choices(words, cum_weights=weights, k=TITLE_WORDS + TEXT_WORDS)
            total += len(drawn)
            half = TITLE_WORDS + TEXT_WORDS // 2
            items.append(
                Item(
                    title=" ".join(drawn[:TITLE_WORDS]).capitalize(),
                    link=f"https://{language}.example/{feed}/{number}",
                    guid=f"urn:bench:ukru:{feed}:{number}",
                    description=f"<p>{' '.join(drawn[TITLE_WORDS:half]).capitalize()}.</p>"
                    f"<p>{' '.join(drawn[half:]).capitalize()}.</p>",
                    pub_date=now - timedelta(minutes=number),
                )
            )
        body = feed_body(feed, items)
        declared = body.replace(
            b"<channel>", b"<channel><language>%s</language>" % language.encode(), 1
        )
        if declared == body:
            raise RuntimeError("the feed has no <channel> to declare its language in")
        bodies.append(declared)
    description: dict[str, object] = {
        "kind": "generated",
        "source": f"{count} uk/ru feeds of {vocabulary:,} dictionary word forms per language "
        f"(seed {SEED})",
        "items": count * items_per_feed,
        "words": total,
    }
    return bodies, description
