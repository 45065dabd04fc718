"""/settings, /timezone, /quiet and /digest: when a chat gets its alerts."""

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

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
from bot.storage import ChatSchedule
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


@dataclass(frozen=True)
class ScheduleSetting:
    """A part of the schedule one command sets from its argument, or turns off ("off")."""

    # The schedule with the setting the text asks for; None: the text is not understood.
    set_from: Callable[[ChatSchedule, str], ChatSchedule | None]
    turned_off: Callable[[ChatSchedule], ChatSchedule]
    # The replies: set (showing the schedule), off, and how to use the command.
    done: Callable[[ChatSchedule], str]
    off: Callable[[], str]
    usage: Callable[[], str]


def _with_quiet(current: ChatSchedule, text: str) -> ChatSchedule | None:
    window = parse_window(text)
    return None if window is None else replace(current, quiet=window)


def _with_digests(current: ChatSchedule, text: str) -> ChatSchedule | None:
    times = parse_times(text)
    return None if times is None else replace(current, digest_times=times)


QUIET = ScheduleSetting(
    _with_quiet, lambda current: replace(current, quiet=None), quiet_set, quiet_off, quiet_usage
)
DIGESTS = ScheduleSetting(
    _with_digests,
    lambda current: replace(current, digest_times=()),
    digest_set,
    digest_off,
    digest_usage,
)


async def quiet_command(update: Update, context: Context) -> None:
    """Set quiet hours ("23:00-07:00") or turn them off."""
    await _set_or_turn_off(update, context, QUIET)


async def digest_command(update: Update, context: Context) -> None:
    """Set digest times ("08:00,18:00") or go back to instant alerts."""
    await _set_or_turn_off(update, context, DIGESTS)


async def _set_or_turn_off(update: Update, context: Context, setting: ScheduleSetting) -> None:
    stop_waiting(context)
    target = await command_target(update, context)
    if target is None:
        return
    chat, wanted = target.chat, target.argument
    schedules = services_of(context).schedules
    current = await schedules.get(chat.id)
    if wanted.casefold() == OFF:
        await schedules.change(chat.id, setting.turned_off(current))
        await answer(update, setting.off())
        return
    changed = setting.set_from(current, wanted)
    if changed is None:
        await answer(update, setting.usage())
        return
    await schedules.change(chat.id, changed)
    await answer(update, setting.done(changed))


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
        changed = QUIET.turned_off(current)
    elif action is SettingsAction.DIGEST_OFF:
        changed = DIGESTS.turned_off(current)
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
