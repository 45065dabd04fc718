"""Test-wide setup."""

import os

# Opt in to PTB's timedelta retry_after now: otherwise RetryAfter's constructor warns, and
# with warnings as errors the warning replaces the exception the bot must handle.
os.environ.setdefault("PTB_TIMEDELTA", "1")
