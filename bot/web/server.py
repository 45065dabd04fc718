"""The aiohttp listeners: routes grouped by address, one server each, started and stopped
together. Also the /healthz and /metrics routes."""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from aiohttp import web

from bot.storage import StorageUnavailable
from bot.storage.health import Health
from bot.web.health import HealthCheck
from bot.web.metrics import PrometheusMetrics

log = logging.getLogger(__name__)


class ListenError(Exception):
    """An address could not be listened on (taken, or not this machine's)."""


@dataclass(frozen=True)
class Listener:
    """Routes served on one address."""

    host: str
    port: int
    setting: str  # the setting that chose this address, for a clear error
    routes: tuple[web.RouteDef, ...]


def ops_routes(
    health: HealthCheck,
    metrics: PrometheusMetrics,
    storage: Health,
    clock: Callable[[], float],
) -> list[web.RouteDef]:
    """GET /healthz and GET /metrics."""

    async def healthz(request: web.Request) -> web.Response:
        report = await health.report()
        return web.json_response(report.body(), status=200 if report.healthy else 503)

    async def scrape(request: web.Request) -> web.Response:
        try:
            now = clock()
            metrics.set_backlog(await storage.backlog(now), now)
        except StorageUnavailable as error:
            # The counters are still worth having; the gauges keep their last values.
            log.warning("Metrics: the delivery backlog cannot be read: %s", error)
        body, content_type = metrics.exposition(request.headers.get("Accept"))
        response = web.Response(body=body)
        response.headers["Content-Type"] = content_type
        return response

    return [web.get("/healthz", healthz), web.get("/metrics", scrape)]


class WebServer:
    """Every listener's server; routes for the same address share one."""

    def __init__(self, listeners: Iterable[Listener]) -> None:
        self._listeners = list(listeners)
        self._runners: list[web.AppRunner] = []

    async def start(self) -> None:
        """Listen on every address; raise ListenError (nothing left listening) if one fails."""
        by_address: dict[tuple[str, int], list[Listener]] = {}
        for listener in self._listeners:
            by_address.setdefault((listener.host, listener.port), []).append(listener)
        try:
            for (host, port), group in by_address.items():
                app = web.Application()
                for listener in group:
                    app.add_routes(listener.routes)
                runner = web.AppRunner(app, access_log=None, handle_signals=False)
                await runner.setup()
                self._runners.append(runner)
                try:
                    await web.TCPSite(runner, host, port).start()
                except OSError as error:
                    names = " and ".join(sorted({g.setting for g in group}))
                    raise ListenError(
                        f"cannot listen on {host}:{port} ({names}): {error}"
                    ) from None
                log.info("Serving %s on http://%s:%d", _paths(group), host, port)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop listening and close open connections."""
        runners, self._runners = self._runners, []
        for runner in runners:
            await runner.cleanup()


def _paths(group: list[Listener]) -> str:
    return ", ".join(route.path for listener in group for route in listener.routes)
