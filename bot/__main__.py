"""Allow `python -m bot` to behave like the newshound console script."""

import sys

from bot.cli import main

# Guarded: feed-parser worker processes import __main__ again and must not start a bot.
if __name__ == "__main__":
    sys.exit(main())
