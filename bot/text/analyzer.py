"""Turn text into index words: the one analysis stories and queries both go through.

A story's words (built in the parser workers) and a query's words (parsed when a chat
subscribes, and again when the index is loaded) must come out of the same analysis, or a
query could never match the story it names. Today a word is a folded token of
normalize.tokenize, whatever the language; per-language morphology (Ukrainian, Russian)
will be added here, behind the same call.
"""

from dataclasses import dataclass

from bot.text.normalize import tokenize


@dataclass(frozen=True)
class Analyzer:
    """Turns text into the words the subscription index stores and looks up."""

    def analyze(self, text: str, language: str | None = None) -> list[str]:
        """Return the index words of text, in order.

        language is the text's language tag when known (None otherwise); no analysis
        depends on it yet.
        """
        return tokenize(text)


# The analyzer the whole pipeline shares; a frozen dataclass, so parser workers can use it.
ANALYZER = Analyzer()


def analyze(text: str, language: str | None = None) -> list[str]:
    """Return the index words of text through the shared analyzer."""
    return ANALYZER.analyze(text, language)
