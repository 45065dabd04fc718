"""A story's outlet as `source:` filters see it, and whether a query's filters admit it.

An outlet is named by its feed's title and its feed URL's host, both folded as matching folds
words (bot.text.normalize.fold). A filter's name matches when it is part of either:
`source:bbc` hits "BBC News" and feeds.bbci.co.uk, `source:bbc.co.uk` hits www.bbc.co.uk
(but not feeds.bbci.co.uk: it is compared with the text as written, not with the outlet).
"""

import functools
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.text.normalize import fold


@dataclass(frozen=True, slots=True)
class StorySource:
    """A story's outlet: its feed's title and host, folded."""

    title: str
    host: str

    @classmethod
    def of_feed(cls, title: str, url: str) -> "StorySource":
        """Return the outlet of a feed with this title and URL."""
        try:
            host = urlsplit(url).hostname or ""
        except ValueError:  # a malformed URL names no host
            host = ""
        return cls(" ".join(fold(title).split()), fold(host))

    def is_named(self, name: str) -> bool:
        """Tell whether a source filter's (folded) name is part of the title or the host."""
        return name in self.title or name in self.host


# A feed's outlet changes only with its title or URL: the poller builds it once, not at every
# poll (a URL split and two folds).
feed_source = functools.lru_cache(maxsize=4096)(StorySource.of_feed)


def admits(
    sources: tuple[str, ...], excluded_sources: tuple[str, ...], source: StorySource | None
) -> bool:
    """Tell whether a query's source filters let a story from this outlet through.

    Several sources mean any of them (a story has one outlet). An unknown outlet (None)
    passes only queries that require none.
    """
    if source is None:
        return not sources
    if any(map(source.is_named, excluded_sources)):
        return False
    return not sources or any(map(source.is_named, sources))
