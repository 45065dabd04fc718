"""/language: the chat picks, with a button, the language the bot speaks in it."""

import logging

from telegram import Update
from telegram.error import BadRequest

from bot.i18n import SUPPORTED_LOCALES, current_locale, language_name, use_locale
from bot.render import channels as channel_replies
from bot.render.callbacks import LANGUAGE
from bot.render.language import language_chosen, language_menu, stale_language_button
from bot.services import Context
from handlers.channel_targets import command_target
from handlers.common import answer, services_of, stop_waiting
from handlers.menus import set_chat_menu

log = logging.getLogger(__name__)


async def language_command(update: Update, context: Context) -> None:
    """Offer the languages as buttons, the one the chat speaks now marked."""
    stop_waiting(context)
    target = await command_target(update, context)
    if target is None:
        return
    if target.channel is None:
        await answer(update, language_menu(current_locale()))
        return
    # A channel's language is named, not tapped: the buttons act on the chat they are in.
    wanted = target.argument.casefold()
    if wanted not in SUPPORTED_LOCALES:
        await answer(update, channel_replies.language_usage(target.channel))
        return
    await services_of(context).languages.change(target.chat.id, wanted)
    log.info("Channel %s now gets alerts in %s", target.chat.id, wanted)
    await answer(update, channel_replies.language_set(target.channel, language_name(wanted)))


async def language_button(update: Update, context: Context) -> None:
    """Store the tapped language, confirm in it in place, and give the chat a menu in it."""
    callback = update.callback_query
    chat = update.effective_chat
    if callback is None or chat is None:
        return
    services = services_of(context)
    locale = LANGUAGE.decode(callback.data)
    if locale is None or not await services.languages.change(chat.id, locale):
        await callback.answer(stale_language_button())
        return
    log.info("Chat %s now speaks %s", chat.id, locale)
    with use_locale(locale):
        await callback.answer()
        try:
            await callback.edit_message_text(language_chosen(locale))
        except BadRequest as error:  # e.g. a repeated tap: the message already says so
            log.info("Cannot confirm chat %s's language in place: %s", chat.id, error.message)
        await set_chat_menu(context.bot, chat.id, admin=chat.id in services.settings.admin_ids)
