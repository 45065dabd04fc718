"""Admin broadcasts: the preview with Send / Cancel, the confirm button and progress edits."""

import logging
import time

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError

from bot.i18n import t, use_locale
from bot.render import admin as admin_text
from bot.render.callbacks import BROADCAST, BroadcastAction
from bot.render.html import TELEGRAM_TEXT_LIMIT, utf16_len
from bot.services import Context
from bot.storage import Broadcast, BroadcastStatus
from handlers.common import services_of
from handlers.reply import reply

log = logging.getLogger(__name__)


# Progress edits: often enough to reassure, rarely enough for Telegram's edit limits.
PROGRESS_INTERVAL_SECONDS = 3.0


async def broadcast(update: Update, context: Context) -> None:
    """Preview an announcement with its recipient count and Confirm / Cancel buttons."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    content = _broadcast_content(message, user.id)
    if isinstance(content, str):
        await reply(message, content)
        return
    html, plain = content
    if utf16_len(plain) > TELEGRAM_TEXT_LIMIT:
        await reply(message, admin_text.broadcast_too_long(utf16_len(plain)))
        return
    storage = services_of(context).storage
    draft = await storage.create_broadcast(user.id, html, time.time())
    await reply(message, html)
    recipients = await storage.count_active_chats()
    buttons = [
        InlineKeyboardButton(
            t("Cancel"), callback_data=BROADCAST.encode((BroadcastAction.CANCEL, draft.id))
        )
    ]
    if recipients:
        buttons.insert(
            0,
            InlineKeyboardButton(
                t("Send to {count}", count=recipients),
                callback_data=BROADCAST.encode((BroadcastAction.CONFIRM, draft.id)),
            ),
        )
    await reply(
        message,
        admin_text.broadcast_confirmation(recipients),
        reply_markup=InlineKeyboardMarkup([buttons]),
    )


def _broadcast_content(message: Message, admin_id: int) -> tuple[str, str] | str:
    """Return (html, plain text) to broadcast, or the reply explaining what is wrong."""
    reply = message.reply_to_message
    if reply is not None and not _argument_of(message):
        if reply.from_user is None or reply.from_user.id != admin_id:
            return admin_text.broadcast_not_yours()
        if reply.text:
            return reply.text_html, reply.text
        if reply.caption:
            return reply.caption_html, reply.caption
        return admin_text.broadcast_usage()
    plain = _argument_of(message)
    if not plain:
        return admin_text.broadcast_usage()
    html_parts = message.text_html.split(maxsplit=1)
    return html_parts[1].strip(), plain


def _argument_of(message: Message) -> str:
    parts = (message.text or "").split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


async def broadcast_button(update: Update, context: Context) -> None:
    """Send (only for the admin who wrote it, only once) or cancel a previewed broadcast."""
    callback = update.callback_query
    if callback is None or callback.data is None or callback.message is None:
        return
    pressed = BROADCAST.decode(callback.data)
    action = pressed[0] if pressed else None
    services = services_of(context)
    draft = await services.storage.get_broadcast(pressed[1]) if pressed else None
    if draft is None or draft.admin_id != callback.from_user.id:
        await callback.answer(t("Only the admin who wrote this broadcast can send or cancel it."))
        return
    if draft.status is not BroadcastStatus.DRAFT:
        await callback.answer(admin_text.broadcast_already(draft.status))
        return
    if action is BroadcastAction.CANCEL:
        if await services.storage.cancel_broadcast(draft.id, draft.admin_id):
            await callback.answer(t("Cancelled"))
            await callback.edit_message_text(admin_text.broadcast_cancelled())
        return
    status = callback.message
    recipients = await services.storage.confirm_broadcast(
        draft.id,
        draft.admin_id,
        time.time(),
        status_chat_id=status.chat.id,
        status_message_id=status.message_id,
    )
    if recipients is None:  # a second tap raced the first
        await callback.answer(t("This broadcast is already on its way."))
        return
    log.info("Admin %s confirmed broadcast %s to %d users", draft.admin_id, draft.id, recipients)
    await callback.answer(t("Sending to {count}", count=recipients))
    await callback.edit_message_text(admin_text.broadcast_progress(recipients, {}, finished=False))
    if services.delivery is not None:
        services.delivery.notify()


class BroadcastProgress:
    """Edits each running broadcast's status message until its final report.

    Several instances each run one: progress edits may repeat (same text, harmless), the
    final report is sent by the instance whose finish_broadcast marked it done."""

    def __init__(self) -> None:
        self._shown: dict[int, str] = {}

    async def tick(self, context: Context) -> None:
        """Update every broadcast in progress (a JobQueue callback)."""
        services = services_of(context)
        storage = services.storage
        for running in await storage.broadcasts_in_progress():
            counts = await storage.broadcast_progress(running.id)
            finished = counts.get("pending", 0) == 0
            # Shown in the language of the chat the admin confirmed it in.
            locale = await services.languages.locale_of(running.status_chat_id, None)
            with use_locale(locale):
                text = admin_text.broadcast_progress(running.recipients, counts, finished=finished)
            if finished:
                # Every instance runs this: the one that finishes it reports it, once.
                if await storage.finish_broadcast(running.id, time.time()):
                    await self._show(context.bot, running, text)
                    log.info("Broadcast %s finished: %s", running.id, counts)
                self._shown.pop(running.id, None)
                continue
            await self._show(context.bot, running, text)

    async def _show(self, bot: Bot, running: Broadcast, text: str) -> None:
        if running.status_chat_id is None or running.status_message_id is None:
            return
        if self._shown.get(running.id) == text:
            return
        try:
            await bot.edit_message_text(
                text, chat_id=running.status_chat_id, message_id=running.status_message_id
            )
        except TelegramError as error:  # progress is informative; delivery goes on regardless
            log.warning("Cannot update broadcast %s status: %s", running.id, error)
        self._shown[running.id] = text
