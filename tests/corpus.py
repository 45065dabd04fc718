"""Where the shared feed corpus lives: ../shared/corpus/feeds beside the project checkout.

Tests that use it skip cleanly when it is absent (a fresh clone elsewhere, CI).
"""

import os
from pathlib import Path

FEEDS = Path(
    os.environ.get(
        "NEWSHOUND_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus" / "feeds"
    )
)
REAL = FEEDS / "real"
ILLFORMED = FEEDS / "illformed"
