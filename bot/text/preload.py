"""Load the Ukrainian and Russian dictionaries on import, for processes that fork workers.

The parser pool's forkserver imports this module once (multiprocessing's forkserver
preload), so every parser worker forked from it starts with both dictionaries loaded, and
shares their pages with its siblings instead of loading ~25 MB each on its first uk or ru
story, in the middle of a poll cycle.
"""

from bot.text.language import MORPHOLOGY_LANGUAGES
from bot.text.morphology import lemmatizer

for _language in MORPHOLOGY_LANGUAGES:
    lemmatizer(_language)
