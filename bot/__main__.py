"""Allow `python -m bot` to behave like the newshound console script."""

import sys

from bot.cli import main

sys.exit(main())
