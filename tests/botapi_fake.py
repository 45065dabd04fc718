"""A fake Telegram Bot API for tests: a real HTTP server on 127.0.0.1.

Point python-telegram-bot at it with
``Application.builder().token(fake.token).base_url(fake.base_url)`` (``fake.base_url`` is
``fake.url + "/bot"``), or ``telegram.Bot(fake.token, base_url=fake.base_url)``. It answers
``POST /bot<token>/<method>`` in Telegram's format and checks what Telegram checks for a news
bot: HTML parse mode, the 4096 UTF-16 unit limit, not-modified edits, inline keyboards. A
test injects updates (``user_sends``, ``user_presses``), fails or slows calls
(``fail_next``, ``set_delay``), blocks users, migrates groups, turns on flood limits
(``enforce_limits``), sets up groups, channels and their members (``add_chat``,
``make_admin``, ``set_member``; getChatMember answers from them), posts in a channel
(``channel_posts``), forwards a channel's post to the bot (``user_forwards_post``), changes
the bot's own place in a chat with its my_chat_member update (``change_bot_member``) and
inspects what the bot did (``sent``, ``requests``, ``errors``; ``request_log`` adds when each
call arrived and was answered). Several bot processes on one token are told apart by giving
each its own ``client_url(name)`` as TELEGRAM_API_URL: their calls and messages carry the name.
getChat finds a public chat by "@username"; in a channel the bot posts only as an
administrator with can_post_messages, and only an administrator bot sees the channel's other
members.
Files go both ways as Telegram's do: a user sends a document (``user_sends_document``), the
bot asks ``getFile`` and downloads ``GET /file/bot<token>/<file_path>`` (give PTB
``base_file_url=fake.file_url``); the bot uploads with ``sendDocument`` (multipart) and a
test reads the bytes back (``file_bytes``).
After ``setWebhook`` it POSTs updates to the webhook from a sender thread, in order, one at
a time, retrying a failed one every ``webhook_retry_seconds`` (botapi_webhook.py), and
getUpdates answers 409, as Telegram does.

Threads: the server runs in a daemon thread and all state sits behind one
``threading.Condition``. What a test calls either takes that lock for microseconds or is
``async``, so the bot under test can share the test's event loop.

Deliberate differences from Telegram:

- HTML is strict by default: an ``&`` that does not start ``&lt; &gt; &amp; &quot;`` or a
  numeric reference (with its ``;``) and an ``<a>`` without ``href`` are rejected. Telegram
  shows the former literally ("AT&T", "&nbsp;") and links the text of the latter.
  ``BotApiFake(strict_html=False)`` follows Telegram (tdlib's ``parse_html``).
- Length is measured before Telegram trims leading and trailing whitespace.
- Markdown parse modes are accepted without validation.
- A webhook may be any http(s) URL on any port (Telegram wants HTTPS on 443, 80, 88 or
  8443), and is retried at a fixed, short interval instead of Telegram's growing one.

Groups follow Telegram's privacy mode (on by default, ``privacy_mode=False`` turns it off):
in a group or supergroup where the bot is not an administrator, it gets only commands (not
those naming another bot), replies to its own messages and messages that mention it.
"""

from __future__ import annotations

import asyncio
import copy
import email.parser
import email.policy
import itertools
import json
import math
import mimetypes
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from types import TracebackType
from typing import Any, Self, cast
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.botapi_members import GROUP_ANONYMOUS_BOT, ChatMembers, can_post, member_json
from tests.botapi_webhook import (
    SECRET_RE,
    WEBHOOK_CONFLICT,
    WebhookState,
    error_message,
    post_update,
)

JSON = dict[str, Any]
ErrorSpec = tuple[int, str, JSON | None]

DEFAULT_TOKEN = "123456:TEST-TOKEN"
MAX_TEXT_UTF16 = 4096
MAX_CAPTION_UTF16 = 1024
# What getFile serves to bots (larger files need a local Bot API server); what they upload.
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
# Where uploaded files travel inside a call's params (never recorded in ``requests``).
_UPLOADS = "\0uploads"
MAX_CALLBACK_DATA_BYTES = 64
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
BLOCKED: ErrorSpec = (403, "Forbidden: bot was blocked by the user", None)
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
CHAT_ACTIONS = frozenset(
    [
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    ]
)
DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
_WAIT_STEP = 0.01
# An optional "/c/<client>" prefix names the client (client_url): several bot processes on one
# token can then be told apart, as Telegram tells connections apart.
_CLIENT_PREFIX = r"(?:/c/([A-Za-z0-9_.-]+))?"
_PATH_RE = re.compile(_CLIENT_PREFIX + r"/bot([^/]+)/([^/]+)/?")
_FILE_PATH_RE = re.compile(_CLIENT_PREFIX + r"/file/bot([^/]+)/(.+)")
_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])")
_BOT_COMMAND_NAME_RE = re.compile(r"[a-z0-9_]{1,32}")
_INT_RE = re.compile(r"-?\d+")
_LANGUAGE_CODE_RE = re.compile(r"[a-z]{2}")


class ApiError(Exception):
    """A Bot API error answer: HTTP status, description and optional parameters."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> JSON:
        """The JSON body Telegram sends with this error."""
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(reason: str) -> ApiError:
    """A 400 answer with Telegram's "Bad Request: " prefix."""
    return ApiError(400, f"Bad Request: {reason}")


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's limits and entity offsets."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


# --- HTML parse mode ---------------------------------------------------------------------


class HtmlError(ValueError):
    """Why Telegram would refuse an HTML-formatted text."""


_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_TAGS = frozenset(_ENTITY_TYPES)
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
# tdlib only knows a lowercase "x" for hexadecimal references.
_ENTITY_RE = re.compile(r"&(?:#(\d+)|#x([0-9a-fA-F]+)|([a-zA-Z]+))(;?)")
_NAME_TOKEN_RE = re.compile(r"[A-Za-z0-9.\-]*")
_SPACES = " \t\n\r\f\v"


def _decode_entity(source: str, pos: int, *, strict: bool) -> tuple[str, int] | None:
    """Decode the character reference at ``source[pos]`` into (character, end) or None."""
    match = _ENTITY_RE.match(source, pos)
    if match is None:
        return None
    decimal, hexadecimal, name, semicolon = match.groups()
    if strict and not semicolon:
        return None
    if name is not None:
        char = _NAMED_ENTITIES.get(name)
        return None if char is None else (char, match.end())
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    digits_end = match.end() - len(semicolon)
    # The same bounds as tdlib: at most 10 characters, no NUL, nothing past U+10FFFE.
    if code == 0 or code >= 0x10FFFF or digits_end - pos >= 10:
        return None
    if 0xD800 <= code <= 0xDFFF:
        raise HtmlError(
            "Text contains invalid Unicode characters after decoding HTML entities, "
            "check for unmatched surrogate code units"
        )
    return chr(code), match.end()


def _decode_attribute(value: str) -> str:
    """Decode the character references inside a quoted attribute value (never strict)."""
    out: list[str] = []
    pos = 0
    while pos < len(value):
        decoded = _decode_entity(value, pos, strict=False) if value[pos] == "&" else None
        if decoded is None:
            out.append(value[pos])
            pos += 1
        else:
            out.append(decoded[0])
            pos = decoded[1]
    return "".join(out)


@dataclass
class _OpenTag:
    name: str
    attrs: dict[str, str]
    offset: int  # UTF-16 offset where the tag's content starts
    start: int  # index into the output characters, for <a> without href


class _HtmlParser:
    """Telegram's HTML parse mode, after tdlib's ``parse_html``; error texts are tdlib's."""

    def __init__(self, source: str, *, strict: bool) -> None:
        self.src = source
        self.strict = strict
        self.out: list[str] = []
        self.utf16 = 0
        self.stack: list[_OpenTag] = []
        self.entities: list[JSON] = []

    def parse(self) -> tuple[str, list[JSON]]:
        pos = 0
        while pos < len(self.src):
            pos = self._step(pos)
        if self.stack:
            name = self.stack[-1].name
            raise HtmlError(f"Can't find end tag corresponding to start tag {name}")
        for entity in self.entities:
            if entity["type"] == "code":
                entity.pop("language", None)
        self.entities.sort(key=lambda entity: (entity["offset"], -entity["length"]))
        return "".join(self.out), self.entities

    def _step(self, pos: int) -> int:
        char = self.src[pos]
        if char == "&":
            decoded = _decode_entity(self.src, pos, strict=self.strict)
            if decoded is not None:
                self._emit(decoded[0])
                return decoded[1]
            if self.strict:
                snippet = re.match(r"&[#\w]{0,10};?", self.src[pos:])
                shown = snippet.group() if snippet else "&"
                raise HtmlError(
                    f'Unsupported HTML entity "{shown}" at byte offset {self._byte(pos)}'
                )
        if char != "<":
            self._emit(char)
            return pos + 1
        if self.src.startswith("</", pos):
            return self._end_tag(pos)
        return self._start_tag(pos)

    def _emit(self, char: str) -> None:
        self.out.append(char)
        self.utf16 += 2 if ord(char) > 0xFFFF else 1

    def _byte(self, pos: int) -> int:
        return len(self.src[:pos].encode("utf-8", "surrogatepass"))

    def _skip_until(self, pos: int, stops: str) -> int:
        while pos < len(self.src) and self.src[pos] not in stops:
            pos += 1
        return pos

    def _skip_spaces(self, pos: int) -> int:
        while pos < len(self.src) and self.src[pos] in _SPACES:
            pos += 1
        return pos

    def _start_tag(self, begin: int) -> int:
        name_end = self._skip_until(begin + 1, _SPACES + ">")
        if name_end == len(self.src):
            raise HtmlError(f"Unclosed start tag at byte offset {self._byte(begin)}")
        name = self.src[begin + 1 : name_end].lower()
        if name not in _TAGS:
            raise HtmlError(f'Unsupported start tag "{name}" at byte offset {self._byte(begin)}')
        attrs, after = self._attributes(name_end, name, begin)
        self._check_start_tag(name, attrs, begin)
        self.stack.append(_OpenTag(name, attrs, self.utf16, len(self.out)))
        return after

    def _attributes(self, pos: int, tag: str, begin: int) -> tuple[dict[str, str], int]:
        attrs: dict[str, str] = {}
        while True:
            pos = self._skip_spaces(pos)
            if pos == len(self.src):
                raise HtmlError(f"Unclosed start tag at byte offset {self._byte(begin)}")
            if self.src[pos] == ">":
                return attrs, pos + 1
            name_end = self._skip_until(pos, _SPACES + "=>")
            name = self.src[pos:name_end]
            if not name:
                raise HtmlError(
                    f'Empty attribute name in the tag "{tag}" at byte offset {self._byte(begin)}'
                )
            pos = self._skip_spaces(name_end)
            if tag == "blockquote" and name == "expandable" and not self.src.startswith("=", pos):
                attrs[name] = ""
                continue
            if not self.src.startswith("=", pos):
                raise HtmlError(
                    "Expected equal sign in declaration of an attribute of the tag "
                    f'"{tag}" at byte offset {self._byte(begin)}'
                )
            attrs[name], pos = self._attribute_value(self._skip_spaces(pos + 1), tag, begin)

    def _attribute_value(self, pos: int, tag: str, begin: int) -> tuple[str, int]:
        if pos == len(self.src):
            raise HtmlError(f'Unclosed start tag "{tag}" at byte offset {self._byte(begin)}')
        quote = self.src[pos]
        if quote not in "'\"":
            token = _NAME_TOKEN_RE.match(self.src, pos)
            end = token.end() if token else pos
            if end < len(self.src) and self.src[end] not in _SPACES + ">":
                raise HtmlError(f"Unexpected end of name token at byte offset {self._byte(pos)}")
            return self.src[pos:end].lower(), end
        close = self.src.find(quote, pos + 1)
        if close == -1:
            raise HtmlError(f"Unclosed start tag at byte offset {self._byte(begin)}")
        return _decode_attribute(self.src[pos + 1 : close]), close + 1

    def _check_start_tag(self, name: str, attrs: dict[str, str], begin: int) -> None:
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise HtmlError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {self._byte(begin)}'
            )
        if name == "a" and self.strict and not attrs.get("href"):
            raise HtmlError(f'Tag "a" must have an "href" at byte offset {self._byte(begin)}')

    def _end_tag(self, begin: int) -> int:
        if not self.stack:
            raise HtmlError(f"Unexpected end tag at byte offset {self._byte(begin)}")
        name_end = self._skip_until(begin + 2, _SPACES + ">")
        name = self.src[begin + 2 : name_end].lower()
        close = self._skip_spaces(name_end)
        if not self.src.startswith(">", close):
            raise HtmlError(f"Unclosed end tag at byte offset {self._byte(begin)}")
        top = self.stack.pop()
        if name and name != top.name:
            raise HtmlError(
                f"Unmatched end tag at byte offset {self._byte(begin)}, "
                f'expected "</{top.name}>", found "</{name}>"'
            )
        self._close(top)
        return close + 1

    def _close(self, tag: _OpenTag) -> None:
        length = self.utf16 - tag.offset
        if length == 0:
            return  # Telegram drops empty entities
        entity: JSON = {"type": _ENTITY_TYPES[tag.name], "offset": tag.offset, "length": length}
        if tag.name == "a":
            entity["url"] = tag.attrs.get("href") or "".join(self.out[tag.start :])
        elif tag.name == "tg-emoji":
            entity["custom_emoji_id"] = _custom_emoji_id(tag.attrs)
        elif tag.name == "blockquote" and "expandable" in tag.attrs:
            entity["type"] = "expandable_blockquote"
        elif tag.name == "code" and tag.attrs.get("class", "").startswith("language-"):
            entity["language"] = tag.attrs["class"].removeprefix("language-")
        elif tag.name == "pre" and self._merge_pre_code(entity):
            return
        self.entities.append(entity)

    def _merge_pre_code(self, pre: JSON) -> bool:
        """Turn ``<pre><code class="language-x">`` into one pre entity with a language."""
        last = self.entities[-1] if self.entities else None
        if last is None or last["type"] != "code" or "language" not in last:
            return False
        if (last["offset"], last["length"]) != (pre["offset"], pre["length"]):
            return False
        last["type"] = "pre"
        return True


def _custom_emoji_id(attrs: dict[str, str]) -> str:
    emoji_id = attrs.get("emoji-id", "")
    if not _INT_RE.fullmatch(emoji_id) or int(emoji_id) == 0:
        raise HtmlError("Invalid custom emoji identifier specified")
    return emoji_id


def parse_html(source: str, *, strict: bool = True) -> tuple[str, list[JSON]]:
    """Parse Telegram HTML into (plain text, message entities); raise HtmlError if refused."""
    return _HtmlParser(source, strict=strict).parse()


def render_text(
    text: object, parse_mode: object, entities: object, *, strict: bool
) -> tuple[str, list[JSON]]:
    """Validate a message text like sendMessage does; return (plain text, entities)."""
    if not isinstance(text, str) or not text.strip():
        raise bad_request("message text is empty")
    mode = parse_mode.lower() if isinstance(parse_mode, str) else ""
    if mode == "html":
        try:
            plain, found = parse_html(text, strict=strict)
        except HtmlError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
    elif mode in ("", "markdown", "markdownv2"):
        plain, found = text, list(entities) if isinstance(entities, list) else []
    else:
        raise bad_request(f"unsupported parse_mode {parse_mode!r}")
    if not plain.strip():
        raise bad_request("message text is empty")
    if utf16_len(plain) > MAX_TEXT_UTF16:
        raise bad_request("message is too long")
    return plain, found


def render_caption(
    caption: object, parse_mode: object, entities: object, *, strict: bool
) -> tuple[str, list[JSON]]:
    """Validate a media caption like sendDocument does: may be absent, at most 1024 units."""
    if caption is None or caption == "":
        return "", []
    mode = parse_mode.lower() if isinstance(parse_mode, str) else ""
    if mode == "html":
        try:
            plain, found = parse_html(str(caption), strict=strict)
        except HtmlError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
    else:
        plain, found = str(caption), list(entities) if isinstance(entities, list) else []
    if utf16_len(plain) > MAX_CAPTION_UTF16:
        raise bad_request("message caption is too long")
    return plain, found


# --- request bodies ----------------------------------------------------------------------

_JSON_PARAMS = frozenset(
    [
        "reply_markup",
        "scope",
        "commands",
        "link_preview_options",
        "allowed_updates",
        "entities",
        "reply_parameters",
        "caption_entities",
    ]
)
_INT_PARAMS = frozenset(
    [
        "chat_id",
        "message_id",
        "offset",
        "limit",
        "timeout",
        "reply_to_message_id",
        "message_thread_id",
        "cache_time",
        "user_id",
    ]
)
_BOOL_PARAMS = frozenset(
    [
        "disable_notification",
        "protect_content",
        "disable_web_page_preview",
        "show_alert",
        "drop_pending_updates",
        "allow_sending_without_reply",
        "has_custom_certificate",
    ]
)


def decode_params(content_type: str, body: bytes, query: str = "") -> JSON:
    """Request parameters from the query string and a form, multipart or JSON body.

    Form and multipart values are strings, with complex values JSON-encoded (that is what
    PTB sends), so they are typed by parameter name like the Bot API does.
    """
    raw: JSON = dict(parse_qsl(query, keep_blank_values=True))
    raw.update(_decode_body(content_type, body))
    return {name: _coerce(name, value) for name, value in raw.items()}


def _decode_body(content_type: str, body: bytes) -> JSON:
    if not body:
        return {}
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json":
        try:
            data = json.loads(body)
        except ValueError:
            raise bad_request("can't parse JSON body") from None
        if not isinstance(data, dict):
            raise bad_request("JSON body must be an object")
        return data
    if media_type == "multipart/form-data":
        return _decode_multipart(content_type, body)
    return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))


def _decode_multipart(content_type: str, body: bytes) -> JSON:
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: JSON = {}
    for part in message.walk():
        name = part.get_param("name", header="content-disposition")
        if part.is_multipart() or not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is None:
            fields[name] = data.decode("utf-8")
        else:
            fields[name] = {"filename": filename, "size": len(data)}
    return fields


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request, or a document a user sent."""

    filename: str
    data: bytes
    mime_type: str


def decode_uploads(content_type: str, body: bytes) -> dict[str, UploadedFile]:
    """The file parts of a multipart body, by field name (empty for any other body)."""
    if not body or content_type.split(";", 1)[0].strip().lower() != "multipart/form-data":
        return {}
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    uploads: dict[str, UploadedFile] = {}
    for part in message.walk():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        if part.is_multipart() or not isinstance(name, str) or filename is None:
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        uploads[name] = UploadedFile(filename, data, part.get_content_type())
    return uploads


def _coerce(name: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if name in _JSON_PARAMS:
        try:
            return json.loads(value)
        except ValueError:
            if name == "reply_markup":
                raise bad_request("can't parse reply keyboard markup JSON object") from None
            raise bad_request(f"can't parse {name} JSON object") from None
    if name in _INT_PARAMS and _INT_RE.fullmatch(value):
        return int(value)
    if name in _BOOL_PARAMS:
        return value.lower() in ("true", "1")
    return value


def _number(params: JSON, name: str, default: float) -> float:
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise bad_request(f"wrong parameter {name}") from None


def _check_markup(markup: object) -> JSON | None:
    """Validate reply_markup; an empty inline keyboard counts as none."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return markup
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request("can't parse inline keyboard button: InlineKeyboardMarkup expected")
    for button in itertools.chain.from_iterable(rows):
        _check_button(button)
    return markup if any(rows) else None


def _check_button(button: object) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request('can\'t parse inline keyboard button: Field "text" must be a String')
    if set(button) == {"text"}:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    data = button.get("callback_data")
    if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA_BYTES:
        raise bad_request("BUTTON_DATA_INVALID")


def _scope_key(scope: object, language_code: object) -> str:
    """A canonical key for a command scope; an absent scope is the default one."""
    normal: JSON = dict(scope) if isinstance(scope, dict) else {"type": "default"}
    for name in ("chat_id", "user_id"):
        value = normal.get(name)
        if isinstance(value, str) and _INT_RE.fullmatch(value):
            normal[name] = int(value)
    return json.dumps(normal, sort_keys=True) + "|" + str(language_code or "")


def _default_chat(chat_id: int) -> JSON:
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}
    kind = "supergroup" if str(chat_id).startswith("-100") else "group"
    return {"id": chat_id, "type": kind, "title": f"Chat {chat_id}"}


def _thread_of(params: JSON) -> int | None:
    """The forum topic a send names (message_thread_id), or None for the chat itself."""
    thread = params.get("message_thread_id")
    return thread if isinstance(thread, int) and not isinstance(thread, bool) else None


def _user_json(
    user_id: int, first_name: str, username: str | None, language_code: str | None = None
) -> JSON:
    user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
    if username is not None:
        user["username"] = username
    if language_code is not None:
        user["language_code"] = language_code  # the IETF tag of the user's app language
    return user


@dataclass(frozen=True)
class _Sender:
    user_id: int
    first_name: str
    username: str | None
    language: str | None


def _mime_of(filename: str) -> str:
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def _file_path(file_id: str, file: UploadedFile) -> str:
    """Where getFile says a file is, as Telegram's "documents/file_12.opml"."""
    suffix = file.filename.rpartition(".")[2] if "." in file.filename else "bin"
    return f"documents/file_{file_id.rsplit('-', 1)[-1]}.{suffix}"


def _update_type(update: JSON) -> str:
    return next(key for key in update if key != "update_id")


def _id_from_token(token: str) -> int:
    prefix = token.split(":", 1)[0]
    return int(prefix) if prefix.isdigit() else 123456


# --- rate limits and faults --------------------------------------------------------------


class _Bucket:
    """Token bucket: ``capacity`` requests at once, refilled at ``rate`` per second."""

    def __init__(self, capacity: float, rate: float, now: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
        self.stamp = now

    def wait_time(self, now: float) -> float:
        """Seconds until one request is allowed (0 when it is allowed now)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


@dataclass
class _Limits:
    global_per_second: float
    per_chat_per_second: float
    per_chat_burst: int
    per_group_per_minute: float | None
    methods: frozenset[str]
    clock: Callable[[], float] = time.monotonic
    buckets: dict[tuple[str, int], _Bucket] = field(default_factory=dict)

    def check(self, chat_id: int | None) -> None:
        """Take one request from every bucket that applies, or raise a 429."""
        buckets = [self._bucket("global", 0, self.global_per_second, self.global_per_second)]
        if chat_id is not None:
            burst, rate = self.per_chat_burst, self.per_chat_per_second
            buckets.append(self._bucket("chat", chat_id, burst, rate))
            if chat_id < 0 and self.per_group_per_minute:
                per_minute = self.per_group_per_minute
                buckets.append(self._bucket("group", chat_id, per_minute, per_minute / 60))
        now = self.clock()
        wait = max(bucket.wait_time(now) for bucket in buckets)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )
        for bucket in buckets:
            bucket.tokens -= 1

    def _bucket(self, kind: str, key: int, capacity: float, rate: float) -> _Bucket:
        bucket = self.buckets.get((kind, key))
        if bucket is None:
            bucket = self.buckets[(kind, key)] = _Bucket(capacity, rate, self.clock())
        return bucket


@dataclass
class RequestRecord:
    """One call as the fake saw it: the client its URL named (None without a prefix), when it
    arrived and when it was answered (``time.monotonic()``; None while pending), and the
    answer's HTTP status."""

    method: str
    client: str | None
    arrived: float
    answered: float | None = None
    status: int | None = None


@dataclass
class _Fault:
    method: str
    error: ErrorSpec
    chat_id: int | None
    times: int
    delay: float


# --- what the bot sent -------------------------------------------------------------------


@dataclass
class SentMessage:
    """A message the bot sent, as it stands now (a snapshot: later edits do not show).

    ``text`` is the raw text of the last send or edit (HTML tags included) and
    ``plain_text`` what the user sees; ``edits`` holds the earlier raw texts, oldest first;
    ``params`` the raw parameters of the last sendMessage or editMessageText, for options
    such as ``link_preview_options``; ``thread_id`` the forum topic it was sent to (None:
    the chat itself).
    """

    chat_id: int
    message_id: int
    text: str
    parse_mode: str | None
    reply_markup: JSON | None
    plain_text: str
    entities: list[JSON]
    params: JSON
    date: int
    edits: list[str] = field(default_factory=list)
    edit_date: int | None = None
    deleted: bool = False
    thread_id: int | None = None
    # The client that sent it (the name in its URL's "/c/<client>" prefix, see client_url).
    client: str | None = None
    # For sendDocument: Telegram's Document object (file_id, file_name, mime_type,
    # file_size); text and plain_text are then the caption.
    document: JSON | None = None

    @property
    def buttons(self) -> list[JSON]:
        """The inline keyboard's buttons, row by row, or [] without one."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [button for row in rows for button in row]

    @property
    def callback_data(self) -> list[str]:
        """The callback_data of every inline button, in order."""
        return [str(b["callback_data"]) for b in self.buttons if "callback_data" in b]


# --- the fake ----------------------------------------------------------------------------


class BotApiFake:
    """A fake Bot API server; see the module docstring. Use as a (async) context manager."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_id: int | None = None,
        bot_username: str = "newshound_test_bot",
        bot_name: str = "Newshound Test",
        strict_html: bool = True,
        webhook_retry_seconds: float = 0.05,
        privacy_mode: bool = True,
    ) -> None:
        self.token = token
        self.webhook_retry_seconds = webhook_retry_seconds
        self.privacy_mode = privacy_mode
        self.bot_id = bot_id if bot_id is not None else _id_from_token(token)
        self.bot_username = bot_username
        self.bot_name = bot_name
        self.strict_html = strict_html
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self._server: _FakeServer | None = None
        self._thread: threading.Thread | None = None
        self._requests: list[tuple[str, JSON]] = []
        self._log: list[RequestRecord] = []
        # The client of the call being run (set under the lock, for the messages it sends).
        self._client: str | None = None
        self._errors: list[tuple[str, int, str]] = []
        self._updates: list[JSON] = []
        self._update_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._last_message_id: dict[int, int] = {}
        self._chats: dict[int, JSON] = {}
        self._users: dict[int, JSON] = {}
        self._members = ChatMembers()
        # Forum topics that answer sends with an error: (chat, thread) -> description.
        self._topic_errors: dict[tuple[int, int], str] = {}
        self._chat_errors: dict[int, ErrorSpec] = {}
        self._messages: dict[tuple[int, int], SentMessage] = {}
        self._incoming: dict[tuple[int, int], JSON] = {}
        self._open_queries: set[str] = set()
        self._callback_answers: list[JSON] = []
        self._commands: dict[str, list[JSON]] = {}
        self._faults: list[_Fault] = []
        self._delays: dict[str, float] = {}
        # Methods whose answers wait until released (hold_answers): calls in flight.
        self._gates: dict[str, threading.Event] = {}
        self._limits: _Limits | None = None
        self._rate_limited = 0
        self._allowed_updates: list[str] | None = None
        self._poll_generation = 0
        self._files: dict[str, UploadedFile] = {}
        self._file_ids = itertools.count(1)
        self._webhook: WebhookState | None = None
        self._webhook_thread: threading.Thread | None = None
        # A load balancer in front of several instances: POSTs go to these in turn.
        self._balanced: list[str] = []
        self._next_target = 0
        self._methods: dict[str, Callable[[JSON], Any]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setMyDescription": self._accept,
            "setMyShortDescription": self._accept,
            "setChatMenuButton": self._accept,
            "sendMessage": self._send_message,
            "sendDocument": self._send_document,
            "getFile": self._get_file,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": self._send_chat_action,
            "getChatMember": self._get_chat_member,
            "getChat": self._get_chat,
        }
        # Telegram matches method names case-insensitively.
        self._method_names = {name.lower(): name for name in self._methods}

    # --- lifecycle ---

    def start(self) -> Self:
        """Listen on a free port of 127.0.0.1 and serve from a daemon thread."""
        if self._server is not None:
            raise RuntimeError("BotApiFake already started")
        self._server = _FakeServer(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="BotApiFake",
            daemon=True,
        )
        self._thread.start()
        self._webhook_thread = threading.Thread(
            target=self._post_to_webhook, name="BotApiFake webhook", daemon=True
        )
        self._webhook_thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; pending long polls and delays end at once. Idempotent."""
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        if self._webhook_thread is not None:
            self._webhook_thread.join(timeout=2)
            self._webhook_thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        if self._server is None:
            raise RuntimeError("BotApiFake is not running")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def client_url(self, client: str) -> str:
        """The URL a client named ``client`` uses in place of ``url`` (TELEGRAM_API_URL):
        its calls are the fake's own, recorded with that name (``request_log``,
        ``SentMessage.client``)."""
        return f"{self.url}/c/{client}"

    @property
    def base_url(self) -> str:
        """What to give PTB as ``base_url``: ``url + "/bot"``."""
        return self.url + "/bot"

    @property
    def file_url(self) -> str:
        """What to give PTB as ``base_file_url``: ``url + "/file/bot"``."""
        return self.url + "/file/bot"

    # --- scenario controls ---

    def block_user(self, chat_id: int) -> None:
        """The user blocked the bot: sending to them answers 403 until they write again."""
        self._set_chat_error(chat_id, BLOCKED)

    def deactivate_user(self, chat_id: int) -> None:
        """The user deleted their account: sending answers 403 for good."""
        self._set_chat_error(chat_id, (403, "Forbidden: user is deactivated", None))

    def forget_chat(self, chat_id: int) -> None:
        """The bot was never in this chat (or was removed): 400 "chat not found"."""
        self._set_chat_error(chat_id, (400, "Bad Request: chat not found", None))

    def migrate_group(self, old_chat_id: int, new_chat_id: int) -> None:
        """The group became a supergroup: sending to the old id answers with the new one."""
        error = "Bad Request: group chat was upgraded to a supergroup chat"
        self._set_chat_error(old_chat_id, (400, error, {"migrate_to_chat_id": new_chat_id}))
        with self._cond:
            self._chats[new_chat_id] = {
                **self._chats.get(old_chat_id, _default_chat(old_chat_id)),
                "id": new_chat_id,
                "type": "supergroup",
            }

    def user_deletes_message(self, chat_id: int, message_id: int) -> None:
        """The user deletes one of the bot's messages: editing it then answers 400 "message
        to edit not found", as Telegram does."""
        with self._cond:
            self._messages[(chat_id, message_id)].deleted = True

    def restore_chat(self, chat_id: int) -> None:
        """Undo block_user, deactivate_user, forget_chat or migrate_group for this chat."""
        with self._cond:
            self._chat_errors.pop(chat_id, None)

    def add_chat(
        self,
        chat_id: int,
        chat_type: str,
        *,
        title: str | None = None,
        is_forum: bool = False,
        username: str | None = None,
        with_bot: bool = True,
    ) -> JSON:
        """Create a group, supergroup (a forum with ``is_forum``) or channel; return it.

        Ids follow Telegram: a group's is negative, a supergroup's and a channel's start -100.
        A public one has a ``username`` (getChat finds it by "@username").
        The bot is a member of a group unless ``with_bot`` is False (then ``change_bot_status``
        adds it); of a channel only once a test makes it one.
        """
        if chat_type not in ("group", "supergroup", "channel"):
            raise ValueError(f"add_chat makes groups, supergroups and channels, not {chat_type}")
        if chat_id >= 0 or (chat_type != "group") != str(chat_id).startswith("-100"):
            raise ValueError(f"{chat_id} is not a {chat_type} id")
        if is_forum and chat_type != "supergroup":
            raise ValueError("only a supergroup can be a forum")
        chat: JSON = {"id": chat_id, "type": chat_type, "title": title or f"Chat {chat_id}"}
        if is_forum:
            chat["is_forum"] = True
        if username is not None:
            chat["username"] = username
        with self._cond:
            self._chats[chat_id] = chat
            # A bot joins a channel only when an admin adds it, as an admin (tests say how).
            if chat_type != "channel":
                self._set_member(chat_id, self.bot_id, "member" if with_bot else "left", {})
            return copy.deepcopy(chat)

    def set_member(
        self,
        chat_id: int,
        user_id: int,
        status: str,
        *,
        first_name: str = "Test",
        username: str | None = None,
        **rights: bool,
    ) -> None:
        """Give a user (or the bot, by its id) a status in a chat, as getChatMember reports it:
        creator, administrator, member, restricted, left or kicked; ``rights`` set can_* flags
        (and is_anonymous, is_member)."""
        with self._cond:
            self._set_member(chat_id, user_id, status, rights, first_name, username)

    def make_admin(
        self, chat_id: int, user_id: int, *, creator: bool = False, **rights: bool
    ) -> None:
        """Make the user an administrator (or the creator) of the chat."""
        with self._cond:
            status = "creator" if creator else "administrator"
            self._set_member(chat_id, user_id, status, rights)

    def fail_next(
        self,
        method: str,
        *,
        status: int,
        description: str | None = None,
        retry_after: int | None = None,
        chat_id: int | None = None,
        times: int = 1,
        delay: float = 0.0,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (to ``chat_id`` if given) with an error.

        The call has no effect. A 429 always carries ``retry_after`` (default 1); the
        description defaults to Telegram's wording for the status. ``delay`` holds the answer.
        """
        name = self._canonical(method)
        parameters: JSON | None = None
        if status == 429:
            retry_after = 1 if retry_after is None else retry_after
            description = description or f"Too Many Requests: retry after {retry_after}"
        if retry_after is not None:
            parameters = {"retry_after": retry_after}
        text = description or DEFAULT_DESCRIPTIONS.get(status, "Error")
        fault = _Fault(name, (status, text, parameters), chat_id, times, delay)
        with self._cond:
            self._faults.append(fault)

    def set_delay(self, method: str, seconds: float) -> None:
        """Answer ``method`` late; the call still takes effect at once (0 turns it off).

        Like a slow network: a client that times out may find its message delivered.
        """
        name = self._canonical(method)
        with self._cond:
            self._delays[name] = seconds

    def hold_answers(self, method: str) -> None:
        """Hold every answer of ``method`` until release_answers: the calls take effect at
        once (a message is delivered) while the bot still waits, like a slow network."""
        with self._cond:
            self._gates[self._canonical(method)] = threading.Event()

    def release_answers(self, method: str) -> None:
        """Answer the calls hold_answers held, and the later ones at once."""
        with self._cond:
            gate = self._gates.pop(self._canonical(method), None)
        if gate is not None:
            gate.set()

    def enforce_limits(
        self,
        global_per_second: float = 30,
        per_chat_per_second: float = 1.0,
        per_chat_burst: int = 3,
        *,
        per_group_per_minute: float | None = 20,
        methods: tuple[str, ...] = ("sendMessage",),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Apply Telegram's flood limits to ``methods``: over them, 429 with retry_after.

        Every chat (a private one too) gets ``per_chat_burst`` messages at once, then
        ``per_chat_per_second``; groups also ``per_group_per_minute``; the bot as a whole
        ``global_per_second``. A refused request uses up nothing. ``clock`` (seconds) lets a
        test step time instead of waiting for it.
        """
        limits = _Limits(
            global_per_second,
            per_chat_per_second,
            per_chat_burst,
            per_group_per_minute,
            frozenset(self._canonical(method) for method in methods),
            clock,
        )
        with self._cond:
            self._limits = limits

    def disable_limits(self) -> None:
        """Turn enforce_limits off again."""
        with self._cond:
            self._limits = None

    # --- updates ---

    def user_sends(
        self,
        user_id: int,
        text: str,
        *,
        first_name: str = "Test",
        username: str | None = None,
        chat_id: int | None = None,
        chat_type: str = "private",
        reply_to_message_id: int | None = None,
        entities: list[JSON] | None = None,
        thread_id: int | None = None,
        language_code: str | None = None,
        anonymous: bool = False,
    ) -> JSON:
        """Queue a message update from a user; return the update.

        ``anonymous`` sends it as an anonymous group admin does: from GroupAnonymousBot,
        with the group as sender_chat. In a group under privacy mode (see the module
        docstring) a message the bot would not get is returned but not queued.

        ``language_code`` is the sender's app language, as Telegram tells bots (from.language_code).

        ``entities`` adds formatting (bold, links...) as Telegram would send it.
        ``thread_id`` sends it in that forum topic of a supergroup (the chat becomes a forum):
        the message carries message_thread_id and is_topic_message, as Telegram's do.

        A leading ``/command`` (or ``/command@bot``) gets its bot_command entity. A user who
        writes has unblocked the bot, so a block_user for the chat is lifted.
        """
        content: JSON = {"text": text}
        command = _COMMAND_RE.match(text)
        if command:
            entity = {"type": "bot_command", "offset": 0, "length": utf16_len(command[0])}
            content["entities"] = [entity]
        if entities:
            content["entities"] = [*content.get("entities", []), *entities]
        sender = _Sender(user_id, first_name, username, language_code)
        return self._user_message(
            sender, content, chat_id, chat_type, reply_to_message_id, thread_id, anonymous
        )

    def user_sends_document(
        self,
        user_id: int,
        data: bytes,
        filename: str,
        *,
        caption: str | None = None,
        mime_type: str | None = None,
        first_name: str = "Test",
        chat_id: int | None = None,
        chat_type: str = "private",
        reply_to_message_id: int | None = None,
        language_code: str | None = None,
    ) -> JSON:
        """Queue a message with a document (and a caption, if given) from a user; return it.

        The file is kept under a new file_id for getFile and the download, like Telegram's;
        a leading ``/command`` in the caption gets its bot_command caption entity.
        """
        file_id = self._store_file(UploadedFile(filename, data, mime_type or _mime_of(filename)))
        content: JSON = {"document": self._document_json(file_id)}
        if caption is not None:
            content["caption"] = caption
            command = _COMMAND_RE.match(caption)
            if command:
                entity = {"type": "bot_command", "offset": 0, "length": utf16_len(command[0])}
                content["caption_entities"] = [entity]
        sender = _Sender(user_id, first_name, None, language_code)
        return self._user_message(sender, content, chat_id, chat_type, reply_to_message_id)

    def _user_message(
        self,
        sender: _Sender,
        content: JSON,
        chat_id: int | None,
        chat_type: str,
        reply_to_message_id: int | None,
        thread_id: int | None = None,
        anonymous: bool = False,
    ) -> JSON:
        """Queue a message update from a user with content (text, document...); return it."""
        if chat_id is None and chat_type != "private":
            raise ValueError(f"a {chat_type} message needs a chat_id")
        if thread_id is not None and chat_type != "supergroup":
            raise ValueError("only a supergroup has forum topics")
        if anonymous and chat_type not in ("group", "supergroup"):
            raise ValueError("only a group admin can write anonymously")
        chat_id = sender.user_id if chat_id is None else chat_id
        user = _user_json(sender.user_id, sender.first_name, sender.username, sender.language)
        with self._cond:
            chat = self._register_chat(chat_id, chat_type, user)
            self._users.setdefault(sender.user_id, user)
            if chat_type != "private":
                self._members.join(chat_id, user)
            if thread_id is not None:
                chat["is_forum"] = True
            message: JSON = {
                "message_id": self._next_message_id(chat_id),
                "from": user,
                "chat": copy.deepcopy(chat),
                "date": int(time.time()),
                **content,
            }
            if thread_id is not None:
                message["message_thread_id"] = thread_id
                message["is_topic_message"] = True
            if reply_to_message_id is not None:
                message["reply_to_message"] = self._message_by_id(chat_id, reply_to_message_id)
            if anonymous:
                message["from"] = copy.deepcopy(GROUP_ANONYMOUS_BOT)
                message["sender_chat"] = copy.deepcopy(chat)
            self._incoming[(chat_id, message["message_id"])] = message
            if self._chat_errors.get(chat_id) == BLOCKED:
                del self._chat_errors[chat_id]
            if not self._bot_sees(chat_id, message):
                return {"update_id": 0, "message": copy.deepcopy(message)}
            return self._push_update({"message": message})

    def user_presses(
        self,
        user_id: int,
        message_id: int,
        data: str,
        *,
        chat_id: int | None = None,
        first_name: str = "Test",
        username: str | None = None,
        require_button: bool = True,
        language_code: str | None = None,
    ) -> JSON:
        """Queue a callback_query update for a button on the bot's message; return it.

        ``data`` must be on one of the message's buttons unless ``require_button`` is False
        (a forged or stale press).
        """
        chat_id = user_id if chat_id is None else chat_id
        with self._cond:
            message = self._messages.get((chat_id, message_id))
            if message is None or message.deleted:
                raise LookupError(f"the bot has no message {message_id} in chat {chat_id}")
            if require_button and data not in message.callback_data:
                raise ValueError(f"no button with {data!r} on message {message_id}")
            query_id = f"{self.bot_id}{next(self._query_ids):06d}"
            self._open_queries.add(query_id)
            query: JSON = {
                "id": query_id,
                "from": _user_json(user_id, first_name, username, language_code),
                "chat_instance": f"ci{chat_id}",
                "data": data,
                "message": self._message_json(message),
            }
            return self._push_update({"callback_query": query})

    def user_blocks_bot(self, user_id: int, *, first_name: str = "Test") -> JSON:
        """The user blocks the bot in their private chat: queue the my_chat_member update.

        Sending to them answers 403 until they unblock it (or write again).
        """
        with self._cond:
            self._chat_errors[user_id] = BLOCKED
            return self._push_membership(user_id, first_name, "member", "kicked")

    def user_unblocks_bot(self, user_id: int, *, first_name: str = "Test") -> JSON:
        """The user unblocks the bot: queue the my_chat_member update; sends work again."""
        with self._cond:
            if self._chat_errors.get(user_id) == BLOCKED:
                del self._chat_errors[user_id]
            return self._push_membership(user_id, first_name, "kicked", "member")

    def change_bot_status(
        self, chat_id: int, status: str, *, by_user: int, first_name: str = "Test", **rights: bool
    ) -> JSON:
        """Someone (``by_user``) adds, promotes, restricts, removes or bans the bot in a group,
        supergroup or channel: queue the my_chat_member update Telegram sends; return it.

        Sends follow: a bot that left or was kicked gets 403, one that may not post 400, one
        back in the chat sends again.
        """
        with self._cond:
            chat = self._chat(chat_id)
            if chat["type"] == "private":
                raise ValueError("use user_blocks_bot and user_unblocks_bot in private chats")
            # A bot that was never told otherwise is in the chats it gets messages from.
            old = self._members.known(chat_id, self.bot_id)
            old = old or member_json(self._bot_user(), "member")
            self._set_member(chat_id, self.bot_id, status, rights)
            new = self._members.get(chat_id, self._bot_user())
            kind = chat["type"]
            if status == "kicked":
                self._chat_errors[chat_id] = (
                    403,
                    f"Forbidden: bot was kicked from the {kind} chat",
                    None,
                )
            elif status == "left":
                self._chat_errors[chat_id] = (
                    403,
                    f"Forbidden: bot is not a member of the {kind} chat",
                    None,
                )
            elif not can_post(new):
                error = "Bad Request: not enough rights to send text messages to the chat"
                self._chat_errors[chat_id] = (400, error, None)
            else:
                self._chat_errors.pop(chat_id, None)
            adder = self._users.get(by_user) or _user_json(by_user, first_name, None)
            change: JSON = {
                "chat": copy.deepcopy(chat),
                "from": copy.deepcopy(adder),
                "date": int(time.time()),
                "old_chat_member": old,
                "new_chat_member": new,
            }
            return self._push_update({"my_chat_member": change})

    def close_topic(self, chat_id: int, thread_id: int) -> None:
        """Close a forum topic: sends to it answer 400 TOPIC_CLOSED."""
        with self._cond:
            self._topic_errors[(chat_id, thread_id)] = "TOPIC_CLOSED"

    def delete_topic(self, chat_id: int, thread_id: int) -> None:
        """Delete a forum topic: sends to it answer 400 "message thread not found"."""
        with self._cond:
            self._topic_errors[(chat_id, thread_id)] = "message thread not found"

    def reopen_topic(self, chat_id: int, thread_id: int) -> None:
        """Undo close_topic."""
        with self._cond:
            self._topic_errors.pop((chat_id, thread_id), None)

    def _bot_sees(self, chat_id: int, message: JSON) -> bool:
        """Whether Telegram gives the bot this group message (privacy mode; lock held)."""
        if message["chat"]["type"] not in ("group", "supergroup") or not self.privacy_mode:
            return True
        bot = self._members.known(chat_id, self.bot_id)
        if bot is not None and bot["status"] in ("administrator", "creator"):
            return True
        text = str(message.get("text", ""))
        command = _COMMAND_RE.match(text)
        if command:
            _, at, username = command[0].partition("@")
            return not at or username.casefold() == self.bot_username.casefold()
        replied = message.get("reply_to_message") or {}
        if replied.get("from", {}).get("id") == self.bot_id:
            return True
        return f"@{self.bot_username}".casefold() in text.casefold()

    def _push_membership(self, user_id: int, first_name: str, old: str, new: str) -> JSON:
        user = _user_json(user_id, first_name, None)
        chat = self._register_chat(user_id, "private", user)

        def member(status: str) -> JSON:
            state: JSON = {"user": self._bot_user(), "status": status}
            if status == "kicked":
                state["until_date"] = 0
            return state

        change: JSON = {
            "chat": chat,
            "from": user,
            "date": int(time.time()),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }
        return self._push_update({"my_chat_member": change})

    def channel_posts(self, chat_id: int, text: str) -> JSON:
        """Queue a channel_post update: a post in a channel (add_chat), signed by no user.

        As Telegram sends it: no ``from``, the channel as both ``chat`` and ``sender_chat``.
        """
        with self._cond:
            chat = self._chats.get(chat_id)
            if chat is None or chat["type"] != "channel":
                raise ValueError(f"{chat_id} is not a channel made with add_chat")
            post: JSON = {
                "message_id": self._next_message_id(chat_id),
                "sender_chat": copy.deepcopy(chat),
                "chat": copy.deepcopy(chat),
                "date": int(time.time()),
                "text": text,
            }
            command = _COMMAND_RE.match(text)
            if command:
                post["entities"] = [
                    {"type": "bot_command", "offset": 0, "length": utf16_len(command[0])}
                ]
            self._incoming[(chat_id, post["message_id"])] = post
            return self._push_update({"channel_post": post})

    def user_forwards_post(
        self,
        user_id: int,
        channel_id: int,
        message_id: int,
        *,
        text: str = "A post",
        first_name: str = "Test",
        language_code: str | None = None,
    ) -> JSON:
        """Queue a private message in which the user forwards a channel's post to the bot.

        Bot API 7 shape: ``forward_origin`` of type "channel" names the channel (id, type,
        title, username) and the post's id; the forward's own text is the post's.
        """
        user = _user_json(user_id, first_name, None, language_code)
        with self._cond:
            channel = self._chats.get(channel_id)
            if channel is None or channel["type"] != "channel":
                raise ValueError(f"{channel_id} is not a channel made with add_chat")
            chat = self._register_chat(user_id, "private", user)
            self._users.setdefault(user_id, user)
            message: JSON = {
                "message_id": self._next_message_id(user_id),
                "from": user,
                "chat": copy.deepcopy(chat),
                "date": int(time.time()),
                "forward_origin": {
                    "type": "channel",
                    "chat": copy.deepcopy(channel),
                    "message_id": message_id,
                    "date": int(time.time()) - 60,
                },
                "text": text,
            }
            self._incoming[(user_id, message["message_id"])] = message
            return self._push_update({"message": message})

    def change_bot_member(
        self, chat_id: int, status: str, *, by_user: int, first_name: str = "Test", **rights: bool
    ) -> JSON:
        """An admin (``by_user``) adds, promotes, demotes or removes the bot in a group or
        channel: its getChatMember state changes and a my_chat_member update is queued, with
        the old and the new state, as Telegram sends it (``rights``: the new can_* flags)."""
        with self._cond:
            chat = self._chats.get(chat_id)
            if chat is None:
                raise ValueError(f"{chat_id} is not a chat made with add_chat")
            user = self._users.get(by_user) or _user_json(by_user, first_name, None)
            self._users.setdefault(by_user, user)
            old = self._set_member(chat_id, self.bot_id, status, rights)
            new = self._members.get(chat_id, self._bot_user())
            change: JSON = {
                "chat": copy.deepcopy(chat),
                "from": copy.deepcopy(user),
                "date": int(time.time()),
                "old_chat_member": old,
                "new_chat_member": new,
            }
            return self._push_update({"my_chat_member": change})

    # --- inspection ---

    @property
    def requests(self) -> list[tuple[str, JSON]]:
        """Every call with the right token, in order: (method, decoded params)."""
        with self._cond:
            return copy.deepcopy(self._requests)

    def calls(self, method: str) -> list[JSON]:
        """The params of every call of ``method``, in order."""
        name = self._method_names.get(method.lower(), method)
        return [params for called, params in self.requests if called == name]

    def request_log(self, method: str | None = None) -> list[RequestRecord]:
        """Every call with the right token (of ``method``, or all): who, when, answered how."""
        name = None if method is None else self._method_names.get(method.lower(), method)
        with self._cond:
            return [copy.copy(r) for r in self._log if name is None or r.method == name]

    def count_requests(self, method: str) -> int:
        """How many calls of ``method`` arrived so far (cheap enough to poll)."""
        name = self._method_names.get(method.lower(), method)
        with self._cond:
            return sum(1 for called, _ in self._requests if called == name)

    def file_bytes(self, file_id: str) -> bytes:
        """The content of a file the bot uploaded (sendDocument) or a user sent."""
        with self._cond:
            return self._files[file_id].data

    @property
    def errors(self) -> list[tuple[str, int, str]]:
        """Every error answered: (method, status, description)."""
        with self._cond:
            return list(self._errors)

    def sent(self, chat_id: int | None = None) -> list[SentMessage]:
        """Snapshots of the bot's messages (deleted ones included), in sending order."""
        with self._cond:
            return [
                copy.deepcopy(message)
                for message in self._messages.values()
                if chat_id is None or message.chat_id == chat_id
            ]

    def _sent_count(self, chat_id: int) -> int:
        with self._cond:
            return sum(1 for key in self._messages if key[0] == chat_id)

    @property
    def callback_answers(self) -> list[JSON]:
        """The params of every accepted answerCallbackQuery, in order."""
        with self._cond:
            return copy.deepcopy(self._callback_answers)

    def commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """The commands stored by setMyCommands for a scope (None: the default scope)."""
        with self._cond:
            return copy.deepcopy(self._commands.get(_scope_key(scope, language_code), []))

    def menu(self, chat_id: int, language_code: str = "") -> list[JSON]:
        """The commands Telegram shows in a chat to a user whose app speaks language_code:
        the first scope set of chat, then all private (or group) chats, then default, each
        with that language before without (members' and administrators' scopes left out)."""
        kind = "all_private_chats" if chat_id > 0 else "all_group_chats"
        scopes: list[JSON | None] = [{"type": "chat", "chat_id": chat_id}, {"type": kind}, None]
        with self._cond:
            for scope in scopes:
                for language in (language_code, ""):
                    key = _scope_key(scope, language)
                    if key in self._commands:
                        return copy.deepcopy(self._commands[key])
        return []

    @property
    def rate_limited_count(self) -> int:
        """How many 429 answers were given, injected or from enforce_limits."""
        with self._cond:
            return self._rate_limited

    @property
    def webhook_attempts(self) -> list[tuple[int, int | str]]:
        """Every POST to the webhook: (update_id, HTTP status or the connection error)."""
        with self._cond:
            return list(self._webhook.attempts) if self._webhook else []

    @property
    def pending_updates(self) -> int:
        """Updates not yet confirmed by a getUpdates offset."""
        with self._cond:
            return len(self._updates)

    # A timeout argument rather than asyncio.timeout(): the point is an AssertionError that
    # says what was seen instead.
    async def wait_for_sent(
        self,
        chat_id: int,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[SentMessage]:
        """Wait until the bot has sent ``count`` messages to ``chat_id``; return them all."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            if self._sent_count(chat_id) >= count:
                return self.sent(chat_id)
            if asyncio.get_running_loop().time() >= deadline:
                messages = self.sent(chat_id)
                raise AssertionError(
                    f"expected {count} message(s) to chat {chat_id} within {timeout}s, "
                    f"got {len(messages)}: {[m.text for m in messages]!r}; "
                    f"last errors: {self.errors[-5:]!r}"
                )
            await asyncio.sleep(_WAIT_STEP)

    async def wait_until(
        self,
        predicate: Callable[[], object],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until ``predicate()`` is true, checking every 10 ms."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not predicate():
            if asyncio.get_running_loop().time() >= deadline:
                raise AssertionError(
                    f"condition not met within {timeout}s; last errors: {self.errors[-5:]!r}"
                )
            await asyncio.sleep(_WAIT_STEP)

    # --- HTTP entry point (server threads) ---

    def handle_http(
        self, path: str, query: str, content_type: str, body: bytes
    ) -> tuple[int, JSON]:
        """Answer one HTTP request: (status, JSON body)."""
        match = _PATH_RE.fullmatch(path)
        if match is None:
            return 404, ApiError(404, "Not Found").payload()
        client, token, method = match.groups()
        if token != self.token:
            return 401, ApiError(401, "Unauthorized").payload()
        name = self._method_names.get(method.lower())
        try:
            params = decode_params(content_type, body, query)
        except ApiError as exc:
            return self._finish(name or method, exc, 0.0)
        record = RequestRecord(name or method, client, time.monotonic())
        with self._cond:
            self._requests.append((name or method, params))
            self._log.append(record)
        if name is None:
            status, payload = self._finish(method, ApiError(404, "Not Found"), 0.0)
        else:
            uploads = decode_uploads(content_type, body)
            status, payload = self._call(
                name, {**params, _UPLOADS: uploads} if uploads else params, client
            )
        with self._cond:
            record.answered, record.status = time.monotonic(), status
        return status, payload

    def serve_file(self, path: str) -> tuple[int, bytes]:
        """Answer ``GET /file/bot<token>/<file_path>``: (status, the file's bytes or JSON)."""
        match = _FILE_PATH_RE.fullmatch(path)
        if match is None or match.group(2) != self.token:
            return 404, json.dumps(ApiError(404, "Not Found").payload()).encode()
        with self._cond:
            found = next(
                (f for file_id, f in self._files.items() if _file_path(file_id, f) == match[3]),
                None,
            )
        if found is None:
            return 404, json.dumps(ApiError(404, "Not Found").payload()).encode()
        return 200, found.data

    def _call(self, name: str, params: JSON, client: str | None = None) -> tuple[int, JSON]:
        with self._cond:
            fault = self._take_fault(name, params)
            if fault is not None:
                outcome: ApiError | Any = ApiError(*fault.error)
                delay = fault.delay
            else:
                self._client = client
                outcome = self._run(name, params)
                delay = self._delays.get(name, 0.0)
            gate = self._gates.get(name)
        if isinstance(outcome, ApiError):
            return self._finish(name, outcome, delay)
        self._pause(delay)
        while gate is not None and not gate.wait(0.05) and not self._stopping.is_set():
            pass
        return 200, {"ok": True, "result": outcome}

    def _run(self, name: str, params: JSON) -> Any:
        """The method's result, or the ApiError it answered with (lock held)."""
        try:
            self._check_limits(name, params)
            return self._methods[name](params)
        except ApiError as exc:
            return exc
        except Exception as exc:  # a bug in the fake: say so instead of dropping the connection
            return ApiError(500, f"Internal Server Error: BotApiFake failed: {exc!r}")

    def _finish(self, name: str, error: ApiError, delay: float) -> tuple[int, JSON]:
        """Record an error answer, hold it for ``delay`` seconds and return it."""
        with self._cond:
            self._errors.append((name, error.status, error.description))
            if error.status == 429:
                self._rate_limited += 1
        self._pause(delay)
        return error.status, error.payload()

    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)

    def _take_fault(self, name: str, params: JSON) -> _Fault | None:
        for fault in self._faults:
            if fault.method == name and fault.chat_id in (None, params.get("chat_id")):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _check_limits(self, name: str, params: JSON) -> None:
        if self._limits is not None and name in self._limits.methods:
            chat_id = params.get("chat_id")
            self._limits.check(chat_id if isinstance(chat_id, int) else None)

    def _canonical(self, method: str) -> str:
        name = self._method_names.get(method.lower())
        if name is None:
            raise ValueError(f"BotApiFake does not implement {method!r}")
        return name

    # --- state helpers (lock held) ---

    def _set_chat_error(self, chat_id: int, error: ErrorSpec) -> None:
        with self._cond:
            self._chat_errors[chat_id] = error

    def _store_file(self, file: UploadedFile) -> str:
        with self._cond:
            file_id = f"BQACAgIAAx-fake-{next(self._file_ids)}"
            self._files[file_id] = file
            return file_id

    def _document_json(self, file_id: str) -> JSON:
        file = self._files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": file_id.rsplit("-", 1)[-1],
            "file_name": file.filename,
            "mime_type": file.mime_type,
            "file_size": len(file.data),
        }

    def _set_member(
        self,
        chat_id: int,
        user_id: int,
        status: str,
        rights: dict[str, bool],
        first_name: str = "Test",
        username: str | None = None,
    ) -> JSON:
        """Record the user's (or the bot's) new state in the chat; return the previous one."""
        user = self._bot_user() if user_id == self.bot_id else self._users.get(user_id)
        user = user or _user_json(user_id, first_name, username)
        self._users.setdefault(user_id, user)
        return self._members.set(chat_id, member_json(user, status, rights))

    def _next_message_id(self, chat_id: int) -> int:
        self._last_message_id[chat_id] = self._last_message_id.get(chat_id, 0) + 1
        return self._last_message_id[chat_id]

    def _push_update(self, body: JSON) -> JSON:
        update = {"update_id": next(self._update_ids), **body}
        self._updates.append(update)
        self._cond.notify_all()
        return copy.deepcopy(update)

    def _register_chat(self, chat_id: int, chat_type: str, user: JSON) -> JSON:
        if chat_type == "private":
            if chat_id != user["id"]:
                raise ValueError("a private chat's id is the user's id")
            chat = {k: v for k, v in user.items() if k not in ("is_bot", "language_code")}
            self._chats[chat_id] = {**chat, "type": "private"}
        elif self._chats.get(chat_id, {}).get("type") != chat_type:
            self._chats[chat_id] = {"id": chat_id, "type": chat_type, "title": f"Chat {chat_id}"}
        return self._chats[chat_id]

    def _chat(self, chat_id: int) -> JSON:
        return self._chats.setdefault(chat_id, _default_chat(chat_id))

    def _bot_user(self) -> JSON:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_name,
            "username": self.bot_username,
        }

    def _message_by_id(self, chat_id: int, message_id: int) -> JSON:
        message = self._messages.get((chat_id, message_id))
        if message is not None:
            return self._message_json(message)
        if (chat_id, message_id) in self._incoming:
            return self._incoming[(chat_id, message_id)]
        raise LookupError(f"no message {message_id} in chat {chat_id}")

    def _message_json(self, message: SentMessage) -> JSON:
        data: JSON = {
            "message_id": message.message_id,
            "from": self._bot_user(),
            "chat": self._chat(message.chat_id),
            "date": message.date,
        }
        if message.document is None:
            data["text"] = message.plain_text
            if message.entities:
                data["entities"] = message.entities
        else:
            data["document"] = message.document
            if message.plain_text:
                data["caption"] = message.plain_text
            if message.entities:
                data["caption_entities"] = message.entities
        if message.thread_id is not None:
            data["message_thread_id"] = message.thread_id
            data["is_topic_message"] = True
        if message.edit_date is not None:
            data["edit_date"] = message.edit_date
        # Telegram echoes only inline keyboards in the Message; other markups stay with the chat.
        if message.reply_markup and "inline_keyboard" in message.reply_markup:
            data["reply_markup"] = message.reply_markup
        return copy.deepcopy(data)

    def _target_chat(self, params: JSON) -> int:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            chat_id = self._chat_by_username(chat_id[1:])
        if not isinstance(chat_id, int) or isinstance(chat_id, bool):
            raise bad_request("chat not found")
        error = self._chat_errors.get(chat_id)
        if error is not None:
            raise ApiError(*error)
        return chat_id

    def _chat_by_username(self, username: str) -> int:
        """The public chat with this @username (any case), as Telegram resolves it."""
        for chat_id, chat in self._chats.items():
            if chat["type"] != "private" and str(chat.get("username", "")).lower() == (
                username.lower()
            ):
                return chat_id
        raise bad_request("chat not found")

    def _check_can_post(self, chat_id: int) -> None:
        """A bot posts in a channel only as an administrator with can_post_messages."""
        chat = self._chats.get(chat_id)
        if chat is None or chat["type"] != "channel":
            return
        bot = self._members.known(chat_id, self.bot_id)
        status = bot["status"] if bot is not None else "left"
        if status in ("left", "kicked"):
            verb = "was kicked from" if status == "kicked" else "is not a member of"
            raise ApiError(403, f"Forbidden: bot {verb} the channel chat")
        if status != "creator" and not (bot or {}).get("can_post_messages"):
            raise bad_request("need administrator rights in the channel chat")

    def _editable(self, params: JSON) -> SentMessage:
        if params.get("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        chat_id = self._target_chat(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise bad_request("message identifier is not specified")
        message = self._messages.get((chat_id, message_id))
        if message is not None and not message.deleted:
            return message
        if (chat_id, message_id) in self._incoming:
            raise bad_request("message can't be edited")
        raise bad_request("message to edit not found")

    # --- Bot API methods (lock held) ---

    def _accept(self, params: JSON) -> bool:
        return True

    def _get_me(self, params: JSON) -> JSON:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _get_updates(self, params: JSON) -> list[JSON]:
        offset = int(_number(params, "offset", 0))
        limit = min(max(int(_number(params, "limit", 100)), 1), 100)
        deadline = time.monotonic() + max(_number(params, "timeout", 0), 0)
        if "allowed_updates" in params:
            self._allowed_updates = params["allowed_updates"] or None
        if self._webhook is not None:
            raise ApiError(409, WEBHOOK_CONFLICT)
        self._confirm(offset)
        # A newer getUpdates ends an older pending one with 409, like Telegram.
        self._poll_generation += 1
        generation = self._poll_generation
        self._cond.notify_all()
        while True:
            if self._webhook is not None:
                raise ApiError(409, WEBHOOK_CONFLICT)
            if generation != self._poll_generation:
                raise ApiError(409, CONFLICT)
            batch = self._deliverable(limit)
            remaining = deadline - time.monotonic()
            if batch or remaining <= 0 or self._stopping.is_set():
                return batch
            self._cond.wait(remaining)

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

    def _deliverable(self, limit: int) -> list[JSON]:
        allowed = self._allowed_updates
        wanted = [u for u in self._updates if allowed is None or _update_type(u) in allowed]
        return wanted[:limit]

    def _set_webhook(self, params: JSON) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return self._delete_webhook(params)
        split = urlsplit(url)
        if split.scheme not in ("http", "https") or not split.hostname:
            raise bad_request("bad webhook: Failed to resolve host: Name or service not known")
        secret = params.get("secret_token")
        if secret is not None and not SECRET_RE.fullmatch(str(secret)):
            raise bad_request("secret token contains unallowed characters")
        allowed = params.get("allowed_updates")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._webhook = WebhookState(url, secret, allowed or None)
        if allowed is not None:
            self._allowed_updates = allowed or None
        self._cond.notify_all()  # a pending getUpdates ends with 409; the sender wakes
        return True

    def _delete_webhook(self, params: JSON) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._webhook = None
        return True

    def _get_webhook_info(self, params: JSON) -> JSON:
        hook = self._webhook
        info: JSON = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if hook is not None:
            info["max_connections"] = 40
            if hook.allowed_updates:
                info["allowed_updates"] = hook.allowed_updates
            if hook.last_error_date is not None:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
        return info

    def balance_webhook(self, urls: list[str]) -> None:
        """Stand for a load balancer at the webhook's URL: POST each update (a retry too) to
        the next of these URLs in turn, whatever URL setWebhook registered."""
        with self._cond:
            self._balanced = list(urls)
            self._next_target = 0

    # --- the webhook's sender thread ---

    def _post_to_webhook(self) -> None:
        """POST pending updates to the webhook, oldest first, until stopped."""
        while not self._stopping.is_set():
            with self._cond:
                hook = self._webhook
                batch = self._deliverable(1) if hook else []
                if not batch or hook is None:
                    self._cond.wait(0.5)
                    continue
                update = copy.deepcopy(batch[0])
                url = hook.url
                if self._balanced:
                    url = self._balanced[self._next_target % len(self._balanced)]
                    self._next_target += 1
            outcome = post_update(url, hook.secret, update)
            with self._cond:
                hook.attempts.append((update["update_id"], outcome))
                if isinstance(outcome, int) and 200 <= outcome < 300:
                    self._updates = [u for u in self._updates if u is not batch[0]]
                    continue
                hook.last_error_date = int(time.time())
                hook.last_error_message = error_message(outcome)
            self._stopping.wait(self.webhook_retry_seconds)

    def _set_my_commands(self, params: JSON) -> bool:
        language_code = params.get("language_code")
        if language_code and not _LANGUAGE_CODE_RE.fullmatch(str(language_code)):
            # Menus are per two-letter ISO 639-1 code ("uk"), not per IETF tag ("uk-UA").
            raise bad_request("invalid language code specified")
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("BOT_COMMANDS_TOO_MUCH" if commands else "commands are empty")
        stored = [self._checked_command(command) for command in commands]
        self._commands[_scope_key(params.get("scope"), params.get("language_code"))] = stored
        return True

    @staticmethod
    def _checked_command(command: object) -> JSON:
        if not isinstance(command, dict):
            raise bad_request("can't parse BotCommand")
        name, description = command.get("command"), command.get("description")
        if not isinstance(name, str) or not _BOT_COMMAND_NAME_RE.fullmatch(name):
            raise bad_request("BOT_COMMAND_INVALID")
        if not isinstance(description, str) or not 1 <= len(description) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        return {"command": name, "description": description}

    def _get_my_commands(self, params: JSON) -> list[JSON]:
        key = _scope_key(params.get("scope"), params.get("language_code"))
        return copy.deepcopy(self._commands.get(key, []))

    def _delete_my_commands(self, params: JSON) -> bool:
        self._commands.pop(_scope_key(params.get("scope"), params.get("language_code")), None)
        return True

    def _send_message(self, params: JSON) -> JSON:
        chat_id = self._target_chat(params)
        self._check_can_post(chat_id)
        thread = _thread_of(params)
        if thread is not None and (chat_id, thread) in self._topic_errors:
            raise bad_request(self._topic_errors[(chat_id, thread)])
        text, parse_mode = params.get("text"), params.get("parse_mode")
        plain, entities = render_text(
            text, parse_mode, params.get("entities"), strict=self.strict_html
        )
        markup = _check_markup(params.get("reply_markup"))
        reply_to = self._replied_message(chat_id, params)
        message = SentMessage(
            chat_id=chat_id,
            message_id=self._next_message_id(chat_id),
            text=str(text),
            parse_mode=parse_mode if isinstance(parse_mode, str) else None,
            reply_markup=markup,
            plain_text=plain,
            entities=entities,
            params=copy.deepcopy(params),
            date=int(time.time()),
            thread_id=_thread_of(params),
            client=self._client,
        )
        self._messages[(chat_id, message.message_id)] = message
        data = self._message_json(message)
        if reply_to is not None:
            data["reply_to_message"] = reply_to
        return data

    def _send_document(self, params: JSON) -> JSON:
        chat_id = self._target_chat(params)
        file_id = self._document_param(params)
        caption, parse_mode = params.get("caption"), params.get("parse_mode")
        plain, entities = render_caption(
            caption, parse_mode, params.get("caption_entities"), strict=self.strict_html
        )
        markup = _check_markup(params.get("reply_markup"))
        reply_to = self._replied_message(chat_id, params)
        recorded = {name: value for name, value in params.items() if name != _UPLOADS}
        message = SentMessage(
            chat_id=chat_id,
            message_id=self._next_message_id(chat_id),
            text="" if caption is None else str(caption),
            parse_mode=parse_mode if isinstance(parse_mode, str) else None,
            reply_markup=markup,
            plain_text=plain,
            entities=entities,
            params=copy.deepcopy(recorded),
            date=int(time.time()),
            thread_id=_thread_of(params),
            client=self._client,
            document=self._document_json(file_id),
        )
        self._messages[(chat_id, message.message_id)] = message
        data = self._message_json(message)
        if reply_to is not None:
            data["reply_to_message"] = reply_to
        return data

    def _document_param(self, params: JSON) -> str:
        """The file_id of sendDocument's document: an upload stored now, or a known file_id."""
        document = params.get("document")
        uploads: dict[str, UploadedFile] = params.get(_UPLOADS, {})
        if isinstance(document, str) and document.startswith("attach://"):
            upload = uploads.get(document.removeprefix("attach://"))
        else:
            upload = uploads.get("document")
        if upload is None:
            if isinstance(document, str) and document in self._files:
                return document
            raise bad_request("wrong file identifier/HTTP URL specified")
        if not upload.data:
            raise bad_request("file must be non-empty")
        if len(upload.data) > MAX_UPLOAD_BYTES:
            raise ApiError(413, "Request Entity Too Large")
        mime_type = upload.mime_type
        if mime_type in ("", "application/octet-stream"):
            mime_type = _mime_of(upload.filename)
        return self._store_file(UploadedFile(upload.filename, upload.data, mime_type))

    def _get_file(self, params: JSON) -> JSON:
        file_id = str(params.get("file_id") or "")
        file = self._files.get(file_id)
        if file is None:
            raise bad_request("invalid file_id")
        if len(file.data) > MAX_DOWNLOAD_BYTES:
            raise bad_request("file is too big")
        return {
            "file_id": file_id,
            "file_unique_id": file_id.rsplit("-", 1)[-1],
            "file_size": len(file.data),
            "file_path": _file_path(file_id, file),
        }

    def _replied_message(self, chat_id: int, params: JSON) -> JSON | None:
        reply = params.get("reply_parameters")
        message_id = reply.get("message_id") if isinstance(reply, dict) else None
        message_id = params.get("reply_to_message_id") if message_id is None else message_id
        if message_id is None:
            return None
        try:
            return self._message_by_id(chat_id, message_id)
        except LookupError:
            raise bad_request("message to be replied not found") from None

    def _edit_message_text(self, params: JSON) -> JSON:
        message = self._editable(params)
        text, parse_mode = params.get("text"), params.get("parse_mode")
        plain, entities = render_text(
            text, parse_mode, params.get("entities"), strict=self.strict_html
        )
        # Like Telegram, an edit without reply_markup removes the inline keyboard.
        markup = _check_markup(params.get("reply_markup"))
        if (plain, entities, markup) == (
            message.plain_text,
            message.entities,
            message.reply_markup,
        ):
            raise bad_request(NOT_MODIFIED)
        message.edits.append(message.text)
        message.text = str(text)
        message.parse_mode = parse_mode if isinstance(parse_mode, str) else None
        message.plain_text, message.entities, message.reply_markup = plain, entities, markup
        message.params = copy.deepcopy(params)
        message.edit_date = int(time.time())
        return self._message_json(message)

    def _edit_message_reply_markup(self, params: JSON) -> JSON:
        message = self._editable(params)
        markup = _check_markup(params.get("reply_markup"))
        if markup == message.reply_markup:
            raise bad_request(NOT_MODIFIED)
        message.reply_markup = markup
        message.edit_date = int(time.time())
        return self._message_json(message)

    def _delete_message(self, params: JSON) -> bool:
        chat_id = self._target_chat(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise bad_request("message identifier is not specified")
        message = self._messages.get((chat_id, message_id))
        if message is not None and not message.deleted:
            message.deleted = True
        elif self._incoming.pop((chat_id, message_id), None) is None:
            raise bad_request("message to delete not found")
        return True

    def _answer_callback_query(self, params: JSON) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if query_id not in self._open_queries:
            raise bad_request(QUERY_INVALID)
        self._open_queries.discard(query_id)
        self._callback_answers.append(copy.deepcopy(params))
        return True

    def _get_chat_member(self, params: JSON) -> JSON:
        chat_id = self._target_chat(params)
        user_id = params.get("user_id")
        if not isinstance(user_id, int) or isinstance(user_id, bool) or user_id <= 0:
            raise bad_request("user not found")
        chat = self._chat(chat_id)
        if chat["type"] == "private":
            if user_id not in (chat_id, self.bot_id):
                raise bad_request("user not found")
            user = self._bot_user() if user_id == self.bot_id else self._users.get(user_id)
            return member_json(user or _user_json(user_id, "Test", None), "member")
        bot = self._members.known(chat_id, self.bot_id)
        if bot is not None and bot["status"] in ("left", "kicked"):
            verb = "was kicked from" if bot["status"] == "kicked" else "is not a member of"
            raise ApiError(403, f"Forbidden: bot {verb} the {chat['type']} chat")
        if user_id == self.bot_id:
            if chat["type"] == "channel":
                return bot or member_json(self._bot_user(), "left")
            return bot or member_json(self._bot_user(), "member")
        if chat["type"] == "channel" and (bot is None or bot["status"] == "member"):
            # Only a channel's admins see who else is in it.
            raise bad_request("member list is inaccessible")
        user = self._users.get(user_id) or _user_json(user_id, f"User {user_id}", None)
        return self._members.get(chat_id, user)

    def _get_chat(self, params: JSON) -> JSON:
        """ChatFullInfo: the chat's own fields and those every ChatFullInfo carries."""
        chat_id = self._target_chat(params)
        chat = self._chat(chat_id)
        outside = self._members.known(chat_id, self.bot_id) is None
        if chat["type"] == "channel" and outside and "username" not in chat:
            raise bad_request("chat not found")  # a private channel the bot is not in
        gifts = dict.fromkeys(
            (
                "unlimited_gifts",
                "limited_gifts",
                "unique_gifts",
                "premium_subscription",
                "gifts_from_channels",
            ),
            True,
        )
        return {
            **copy.deepcopy(chat),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": gifts,
        }

    def _send_chat_action(self, params: JSON) -> bool:
        self._target_chat(params)
        if params.get("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True


# --- HTTP plumbing -----------------------------------------------------------------------


class _FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's backlog of 5 drops handshakes (1 s client stalls) under concurrent sends.
    request_queue_size = 1024

    def __init__(self, fake: BotApiFake) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (getfqdn), slow without a network.
        TCPServer.server_bind(self)
        self.server_name = "127.0.0.1"
        self.server_port = self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that hung up (timeout tests); report anything else."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        if re.match(_CLIENT_PREFIX + "/file/", self.path):
            self._serve_file()
        else:
            self._serve()

    def _serve_file(self) -> None:
        fake = cast(_FakeServer, self.server).fake
        status, data = fake.serve_file(unquote(urlsplit(self.path).path))
        try:
            self.send_response(status)
            content_type = "application/octet-stream" if status == 200 else "application/json"
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            return

    def _serve(self) -> None:
        fake = cast(_FakeServer, self.server).fake
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        content_type = self.headers.get("Content-Type") or ""
        status, payload = fake.handle_http(unquote(split.path), split.query, content_type, body)
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            return  # the client gave up waiting; there is nobody to answer

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: the default logs every path, and the path holds the token."""
