"""The dry run's store: texts kept for what matching ran on, indexed, searched, pruned."""

from bot.matching.dryrun import key_token, search
from bot.matching.query import parse_query
from bot.text.packed import unpack
from tests.storage_contract.helpers import HOUR, T0, Db, add_feed, candidate, save


async def found(db: Db, query: str, since: float = T0 - HOUR) -> list[int]:
    return await db.storage.search_story_ids(search(parse_query(query)).candidates, since)


async def ids_by_title(db: Db) -> dict[str, int]:
    return db.peek.stories()


async def test_texts_are_kept_indexed_and_found_newest_first(db: Db) -> None:
    feed = await add_feed(db)
    await save(db, feed, candidate(feed, "Ukraine talks"), candidate(feed, "NATO summit"))
    await save(db, feed, candidate(feed, "Ukraine and NATO"), now=T0 + 60)
    assert await found(db, "Ukraine") == [], "found only once indexed"
    assert await db.storage.index_story_texts(2) == 2
    assert await db.storage.index_story_texts(100) == 1
    assert await db.storage.index_story_texts(100) == 0
    ids = await ids_by_title(db)
    assert await found(db, "Ukraine") == [ids["Ukraine and NATO"], ids["Ukraine talks"]]
    assert await found(db, "nato") == [ids["Ukraine and NATO"], ids["NATO summit"]]
    assert await found(db, "ukrain*") == [ids["Ukraine and NATO"], ids["Ukraine talks"]]
    assert await found(db, "Ukraine", since=T0 + 30) == [ids["Ukraine and NATO"]]
    assert await found(db, '"nato summit"') == [ids["NATO summit"]]
    assert await found(db, "ukraine -summit") == [ids["Ukraine and NATO"], ids["Ukraine talks"]]
    [(story_id, packed)] = await db.storage.story_texts([ids["NATO summit"], 999_999])
    assert story_id == ids["NATO summit"]
    assert unpack(packed).words == ("nato", "summit")


async def test_only_what_matching_ran_on_is_kept(db: Db) -> None:
    feed = await add_feed(db)
    other = await add_feed(db, "b")
    await save(db, feed, candidate(feed, "Ukraine first sight"), alerts_enabled=False)
    await save(db, feed, candidate(feed, "Ukraine too old", alertable=False))
    await save(db, feed, candidate(feed, "Ukraine original", link="https://x.example/1"))
    # The same story from another outlet is a duplicate: matching did not run on it.
    await save(db, other, candidate(other, "Ukraine copy", link="https://x.example/1"))
    await db.storage.index_story_texts(100)
    ids = await ids_by_title(db)
    assert await found(db, "Ukraine") == [ids["Ukraine original"]]


async def test_tried_stories_show_title_link_source_and_time(db: Db) -> None:
    feed = await add_feed(db)
    await save(db, feed, candidate(feed, "Ukraine talks", link="https://a.example/talks"))
    ids = await ids_by_title(db)
    [shown] = await db.storage.tried_stories([ids["Ukraine talks"], 999_999])
    assert (shown.id, shown.title, shown.link) == (
        ids["Ukraine talks"],
        "Ukraine talks",
        "https://a.example/talks",
    )
    assert shown.source == f"Feed {feed.id}"
    assert shown.published.timestamp() == T0


async def test_old_texts_leave_the_index_and_their_stories_stay(db: Db) -> None:
    feed = await add_feed(db)
    await save(db, feed, candidate(feed, "Ukraine early"))
    await save(db, feed, candidate(feed, "Ukraine later"), now=T0 + HOUR)
    await db.storage.index_story_texts(100)
    assert await db.storage.prune_story_texts(T0 + 1, 100) == 1
    assert await db.storage.prune_story_texts(T0 + 1, 100) == 0
    ids = await ids_by_title(db)
    assert await found(db, "Ukraine") == [ids["Ukraine later"]]
    assert set(ids) == {"Ukraine early", "Ukraine later"}
    # Taken out of the index itself, not only hidden by the join: nothing left for it.
    assert db.peek.indexed_under(key_token("ukraine")) == [ids["Ukraine later"]]


async def test_pruned_stories_take_their_texts_out_of_the_index(db: Db) -> None:
    feed = await add_feed(db)
    await save(db, feed, candidate(feed, "Ukraine pruned"), deliver=False)
    await db.storage.index_story_texts(100)
    deleted = await db.storage.prune_stories(T0 + 40 * 24 * HOUR, (float("-inf"), 0), 100)
    assert deleted.deleted == 1
    assert await found(db, "Ukraine") == []
    assert db.peek.kept_texts() == []
    assert db.peek.indexed_under(key_token("ukraine")) == []
    assert db.peek.indexed_under(key_token("u"), prefix=True) == []
