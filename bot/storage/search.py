"""The dry run's protocol: what /try asks of the stories live matching saw."""

from typing import Protocol

from bot.matching.dryrun import Ask
from bot.storage.models import TriedStory


class StorySearch(Protocol):
    """What the dry run (/try) asks of the stories live matching saw (bot.matching.dryrun)."""

    async def index_story_texts(self, limit: int) -> int:
        """Index up to `limit` kept story texts not indexed yet; return how many."""

    async def search_story_ids(self, ask: Ask, since: float) -> list[int]:
        """Return the indexed stories seen since `since` that hold what is asked
        (bot.matching.dryrun), newest first."""

    async def story_texts(self, ids: list[int]) -> list[tuple[int, bytes]]:
        """Return (story id, packed analysis) of those of these stories that have one."""

    async def tried_stories(self, ids: list[int]) -> list[TriedStory]:
        """Return what a dry run shows of these stories, in the order given."""
