"""Telegram's webhook POSTs: only with the secret token, handed on as JSON.

What an update becomes is not decided here: `accept` (bot/receiving.py) turns the JSON into
a python-telegram-bot Update and queues it for the same processor polled updates go through.
"""

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

# Takes an update's JSON; raises ValueError for JSON that is no update.
AcceptUpdate = Callable[[dict[str, Any]], Awaitable[None]]


def webhook_routes(path: str, secret: str, accept: AcceptUpdate) -> list[web.RouteDef]:
    """The one route Telegram posts updates to."""

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        # Compared in constant time: the secret is the only thing proving it is Telegram.
        if not hmac.compare_digest(given.encode(), secret.encode()):
            log.warning("Refused a webhook request from %s: wrong secret token", request.remote)
            return web.json_response({"ok": False, "error": "forbidden"}, status=403)
        try:
            payload = json.loads(await request.read())
            if not isinstance(payload, dict):
                raise ValueError("not a JSON object")
            await accept(payload)
        except ValueError as error:
            # Telegram retries a failed delivery; a body that is no update never gets better.
            log.warning("Ignored a webhook request that is not an update: %s", error)
            return web.json_response({"ok": False, "error": "not an update"}, status=400)
        return web.json_response({"ok": True})

    return [web.post(path, receive)]
