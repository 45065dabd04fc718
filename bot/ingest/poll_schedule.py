"""When to poll a feed next (pure): the interval, backoff after failures, the server's wishes."""

MAX_BACKOFF_SECONDS = 6 * 3600
MAX_DOUBLINGS = 32
# A server's max-age or <ttl> may slow polling down, but not beyond this.
MAX_SERVER_DELAY_SECONDS = 6 * 3600


def next_poll_at(
    now: float,
    interval: float,
    *,
    failures: int = 0,
    retry_after: float | None = None,
    max_age: float | None = None,
    ttl_minutes: int | None = None,
) -> float:
    """Return when to poll a feed next: back off on failures, honour the server's wishes."""
    # Cap the exponent first: a float interval times 2 ** 1100 overflows.
    doublings = min(failures - 1, MAX_DOUBLINGS)
    delay = min(interval * 2**doublings, MAX_BACKOFF_SECONDS) if failures else interval
    server_delays = [retry_after or 0.0, max_age or 0.0, (ttl_minutes or 0) * 60.0]
    delay = max(delay, min(max(server_delays), MAX_SERVER_DELAY_SECONDS))
    return now + delay
