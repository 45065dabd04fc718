"""python-telegram-bot's requests to the Bot API, sent with aiohttp instead of httpx.

PTB lets an application bring its own transport (`telegram.request.BaseRequest`). Its default,
HTTPXRequest, spent most of a send's CPU in httpx and httpcore: httpcore's pool checks every
idle connection (a readability poll through anyio) each time a request starts and ends, so at
300 messages a second with ~30 connections kept open the pool cost more than the rest of the
send (bench: the paid tier). aiohttp's connector takes an idle connection off a list and
expires idle ones on a timer. Requests carry PTB's parameters as a JSON body (the Bot API
accepts JSON; JSON-serialised fields stay strings, as in a form); uploads go as multipart.

Timeouts and failures become PTB's own errors, as HTTPXRequest raises them: a timeout is
TimedOut, any other transport failure NetworkError. Telegram's answers (any status) go back
to PTB as they came, which turns them into BadRequest, Forbidden, RetryAfter and the rest.
"""

import json
import ssl
from typing import IO

import aiohttp
import certifi
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

# PTB's HTTPXRequest defaults, kept: connections kept open (limit), and timeouts in seconds.
CONNECTION_LIMIT = 256
READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 5.0
CONNECT_TIMEOUT = 5.0
POOL_TIMEOUT = 1.0
MEDIA_WRITE_TIMEOUT = 20.0
JSON_HEADERS = {"Content-Type": "application/json"}


class AiohttpRequest(BaseRequest):
    """A BaseRequest over one aiohttp ClientSession, opened by initialize()."""

    def __init__(
        self, *, connection_limit: int = CONNECTION_LIMIT, read_timeout: float = READ_TIMEOUT
    ) -> None:
        self._connection_limit = connection_limit
        self._read_timeout = read_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        """The read timeout a call that names none gets."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the session (PTB calls this inside the running loop)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    # certifi's roots, as httpx (PTB's default client) verifies against.
                    limit=self._connection_limit,
                    ssl=ssl.create_default_context(cafile=certifi.where()),
                ),
                headers={"User-Agent": self.USER_AGENT},
                cookie_jar=aiohttp.DummyCookieJar(),
            )

    async def shutdown(self) -> None:
        """Close the session and its connections."""
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one request; return Telegram's status and body."""
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        files = request_data.multipart_data if request_data is not None else {}
        timeout = _timeout(
            _given(read_timeout, self._read_timeout),
            _given(write_timeout, MEDIA_WRITE_TIMEOUT if files else WRITE_TIMEOUT),
            _given(connect_timeout, CONNECT_TIMEOUT),
            _given(pool_timeout, POOL_TIMEOUT),
        )
        body = _body(request_data, files)
        headers = JSON_HEADERS if isinstance(body, bytes) else None
        try:
            async with self._session.request(
                method, url, data=body, headers=headers, timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as error:  # aiohttp's timeouts are TimeoutErrors too
            raise TimedOut from error
        except aiohttp.ClientError as error:
            # Some of aiohttp's messages quote the URL, and the URL holds the bot's token.
            text = str(error).replace(url, "<Bot API URL>")
            raise NetworkError(f"aiohttp.{type(error).__name__}: {text}") from error


def _given(value: object, default: float) -> float | None:
    """A timeout PTB passed: a number, None (no limit) or its DEFAULT_NONE (ours).

    Typed object, not PTB's ODVInput: that type lives in a private module of PTB's."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    return default


def _timeout(
    read: float | None, write: float | None, connect: float | None, pool: float | None
) -> aiohttp.ClientTimeout:
    """aiohttp's timeouts for PTB's four: waiting for a free connection and connecting is
    `connect`; each wait for the answer's bytes is `sock_read`; aiohttp has no write timeout,
    so the whole request is bounded by the sum of the four (none if any is unbounded)."""
    parts = (read, write, connect, pool)
    total = None if any(part is None for part in parts) else sum(p or 0.0 for p in parts)
    wait = None if connect is None or pool is None else connect + pool
    return aiohttp.ClientTimeout(total=total, connect=wait, sock_connect=connect, sock_read=read)


# PTB's UploadFileDict, which lives in a private module of PTB's: field -> (name, content, type).
UploadFiles = dict[str, tuple[str, bytes | IO[bytes], str]]


def _body(request_data: RequestData | None, files: UploadFiles) -> bytes | aiohttp.FormData | None:
    """The parameters as JSON, or as multipart form fields beside the files."""
    if request_data is None:
        return None
    if not files:
        return json.dumps(request_data.json_parameters).encode()
    form = aiohttp.FormData()
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in files.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form
