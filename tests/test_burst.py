"""The burst rule on plain data: alerts while a chat is under its limit, then digest lines."""

import pytest

from bot.delivery.burst import Lane, Queued, plan_alerts

ANN, BOB = 1, 2
A, D = Lane.ALERT, Lane.DIGEST


def _lanes(planned: list[Queued]) -> list[tuple[int, int, Lane]]:
    return [(q.story_id, q.chat_id, q.lane) for q in planned]


@pytest.mark.parametrize(
    ("stories", "recent", "limit", "expected"),
    [
        ([[ANN], [ANN]], {}, 2, [(1, ANN, A), (2, ANN, A)]),
        ([[ANN], [ANN], [ANN]], {}, 2, [(1, ANN, A), (2, ANN, A), (3, ANN, D)]),
        ([[ANN], [ANN]], {ANN: 1}, 2, [(1, ANN, A), (2, ANN, D)]),
        ([[ANN]], {ANN: 5}, 2, [(1, ANN, D)]),
        ([[ANN, BOB], [ANN, BOB]], {ANN: 2}, 2, [(1, ANN, D), (1, BOB, A), (2, ANN, D), (2, BOB, A)]),  # noqa: E501
        ([[ANN]], {}, 0, [(1, ANN, D)]),
        ([], {ANN: 9}, 2, []),
    ],
    ids=[
        "at the limit",
        "past the limit",
        "earlier alerts in the window count",
        "already over the limit",
        "each chat has its own budget",
        "a limit of zero digests everything",
        "nothing new",
    ],
)  # fmt: skip
def test_plan_alerts(
    stories: list[list[int]],
    recent: dict[int, int],
    limit: int,
    expected: list[tuple[int, int, Lane]],
) -> None:
    matches = [(n, dict.fromkeys(chats, ("Ukraine",))) for n, chats in enumerate(stories, 1)]
    planned = plan_alerts(matches, recent, limit)
    assert _lanes(planned) == expected
    assert all(q.matched == ("Ukraine",) for q in planned)
