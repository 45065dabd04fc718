"""/settings, /timezone, /quiet and /digest: when a chat gets its alerts."""

import logging
from dataclasses import replace

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.delivery.markup import inline_markup
from bot.delivery.zones import parse_times, parse_window, resolve_zone, suggest_zones
from bot.render.callbacks import SETTINGS, SettingsAction
from bot.render.schedule import (
    digest_off,
    digest_set,
    digest_usage,
    quiet_off,
    quiet_set,
    quiet_usage,
    settings_view,
    stale_settings_button,
    timezone_set,
    timezone_shown,
    timezone_unknown,
)
from bot.services import BotApplication, Context
from handlers.channel_targets import command_target
from handlers.common import answer, services_of, stop_waiting
from handlers.groups import admins_only

log = logging.getLogger(__name__)
OFF = "off"


def register(app: BotApplication) -> None:
    """Add the schedule commands and the /settings buttons."""
    app.add_handler(CommandHandler("settings", admins_only(settings_command)))
    app.add_handler(CommandHandler("timezone", admins_only(timezone_command)))
    app.add_handler(CommandHandler("quiet", admins_only(quiet_command)))
    app.add_handler(CommandHandler("digest", admins_only(digest_command)))
    app.add_handler(CallbackQueryHandler(admins_only(settings_button), pattern=SETTINGS.pattern))


async def settings_command(update: Update, context: Context) -> None:
    """Show the chat's schedule with buttons."""
    stop_waiting(context)
    target = await command_target(update, context)
    if target is None:
        return
    view = settings_view(await services_of(context).schedules.get(target.chat.id))
    if target.channel is not None:  # its buttons would act on this private chat
        view = replace(view, keyboard=())
    await answer(update, view)


async def timezone_command(update: Update, context: Context) -> None:
    """Show the chat's zone, or set it from a city, an IANA name or a UTC offset."""
    stop_waiting(context)
    target = await command_target(update, context)
    if target is None:
        return
    chat, wanted = target.chat, target.argument
    schedules = services_of(context).schedules
    current = await schedules.get(chat.id)
    if not wanted:
        await answer(update, timezone_shown(current))
        return
    zone = resolve_zone(wanted)
    if zone is None:
        await answer(update, timezone_unknown(wanted, suggest_zones(wanted)))
        return
    await schedules.change(chat.id, replace(current, timezone=zone))
    log.info("Chat %s is now in time zone %s", chat.id, zone)
    await answer(update, timezone_set(zone))


async def quiet_command(update: Update, context: Context) -> None:
    """Set quiet hours ("23:00-07:00") or turn them off."""
    stop_waiting(context)
    target = await command_target(update, context)
    if target is None:
        return
    chat, wanted = target.chat, target.argument
    schedules = services_of(context).schedules
    current = await schedules.get(chat.id)
    if wanted.casefold() == OFF:
        await schedules.change(chat.id, replace(current, quiet=None))
        await answer(update, quiet_off())
        return
    window = parse_window(wanted)
    if window is None:
        await answer(update, quiet_usage())
        return
    changed = replace(current, quiet=window)
    await schedules.change(chat.id, changed)
    await answer(update, quiet_set(changed))


async def digest_command(update: Update, context: Context) -> None:
    """Set digest times ("08:00,18:00") or go back to instant alerts."""
    stop_waiting(context)
    target = await command_target(update, context)
    if target is None:
        return
    chat, wanted = target.chat, target.argument
    schedules = services_of(context).schedules
    current = await schedules.get(chat.id)
    if wanted.casefold() == OFF:
        await schedules.change(chat.id, replace(current, digest_times=()))
        await answer(update, digest_off())
        return
    times = parse_times(wanted)
    if times is None:
        await answer(update, digest_usage())
        return
    changed = replace(current, digest_times=times)
    await schedules.change(chat.id, changed)
    await answer(update, digest_set(changed))


async def settings_button(update: Update, context: Context) -> None:
    """Turn quiet hours or digests off, then show the settings in place."""
    callback = update.callback_query
    chat = update.effective_chat
    if callback is None or chat is None:
        return
    schedules = services_of(context).schedules
    action = SETTINGS.decode(callback.data)
    current = await schedules.get(chat.id)
    if action is SettingsAction.QUIET_OFF:
        changed = replace(current, quiet=None)
    elif action is SettingsAction.DIGEST_OFF:
        changed = replace(current, digest_times=())
    else:
        await callback.answer(stale_settings_button())
        return
    if not await schedules.change(chat.id, changed):
        await callback.answer(stale_settings_button())
        return
    await callback.answer()
    view = settings_view(changed)
    try:
        await callback.edit_message_text(view.text, reply_markup=inline_markup(view.keyboard))
    except BadRequest as error:  # e.g. a repeated tap: the message already says so
        log.info("Cannot show chat %s's settings in place: %s", chat.id, error.message)
