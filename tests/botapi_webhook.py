"""The Bot API fake's webhook side: what setWebhook keeps and how an update is POSTed.

Telegram POSTs each update as JSON to the webhook's URL with the header
X-Telegram-Bot-Api-Secret-Token when a secret was set, and counts any answer but a 2xx (or
no answer) as a failed delivery: the update stays pending, getWebhookInfo shows the last
error, and the update is posted again later. BotApiFake runs this from a sender thread.
"""

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# What Telegram accepts as secret_token.
SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
POST_TIMEOUT_SECONDS = 10.0


@dataclass
class WebhookState:
    """A registered webhook and how its deliveries went."""

    url: str
    secret: str | None
    allowed_updates: list[str] | None
    last_error_date: int | None = None
    last_error_message: str | None = None
    # (update_id, HTTP status or the error) of every POST, in order.
    attempts: list[tuple[int, int | str]] = field(default_factory=list)


def post_update(url: str, secret: str | None, update: JSON) -> int | str:
    """POST one update as Telegram does; return the HTTP status, or why there was none."""
    request = urllib.request.Request(
        url,
        data=json.dumps(update).encode(),
        headers={"Content-Type": "application/json", **({SECRET_HEADER: secret} if secret else {})},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=POST_TIMEOUT_SECONDS) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except (OSError, ValueError) as error:
        return f"{type(error).__name__}: {error}"


def error_message(outcome: int | str) -> str:
    """What getWebhookInfo's last_error_message says about a failed delivery."""
    if isinstance(outcome, int):
        return f"Wrong response from the webhook: {outcome}"
    return f"Connection failed: {outcome}"
