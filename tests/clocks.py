"""Clocks tests inject into schedules (delivery backoff and pauses, the command throttle).

A test moves them explicitly, so what is due later cannot happen early, and a slow or busy
machine cannot make it happen late: the test waits on events, never on the wall clock.
"""

import time


class JumpClock:
    """Real time plus an offset the test can push forward (to skip a retry's backoff)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def jump(self, seconds: float) -> None:
        self.offset += seconds


class StoppedClock:
    """A clock that stands still until the test moves it: nothing due later happens by
    itself, however slow the machine. It starts a minute ahead, so every row already queued
    (stamped with the real time) is due."""

    def __init__(self) -> None:
        self.now = time.time() + 60

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
