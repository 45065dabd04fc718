"""The buttons on alerts (mute, stop, hide source) and /list's buttons that undo them.

An alert's buttons name its story; the chat's own alert about that story (storage.sent_alert)
says which of its queries it matched and which feed it came from, so a button acts only on
the chat that pressed it, and forged or stale data gets "this button has expired" and
changes nothing. Each step answers in place: the alert's keyboard becomes the next choice
or a confirmation with an Undo.
"""

import logging
from dataclasses import replace
from datetime import UTC, datetime, tzinfo

from telegram import CallbackQuery, Message, Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler

from bot.delivery.markup import inline_markup
from bot.delivery.zones import zone_of
from bot.i18n import t
from bot.matching.query import QueryError, parse_query
from bot.render import replies, tuning
from bot.render.alerts import alert_keyboard
from bot.render.callbacks import SHOW_LISTED, TUNE, UNMUTE_LISTED, Tune, TuneAction
from bot.render.message import Keyboard, OutgoingMessage
from bot.services import BotApplication, Context, Services
from bot.storage import Chat, ChatStatus, ChatType, SentAlert, Subscription
from handlers.common import services_of
from handlers.groups import admins_only

log = logging.getLogger(__name__)

# What a step shows: the alert's new keyboard (None: leave it) and a short answer.
Step = tuple[Keyboard | None, str | None]
EXPIRED: Step = (None, None)


def register(app: BotApplication) -> None:
    """Add the tuning buttons' handlers."""
    # In a group, only its admins tune its alerts (handlers/groups.py).
    app.add_handler(CallbackQueryHandler(admins_only(tune_button), pattern=TUNE.pattern))
    app.add_handler(CallbackQueryHandler(admins_only(unmute_listed), pattern=UNMUTE_LISTED.pattern))
    app.add_handler(CallbackQueryHandler(admins_only(show_listed), pattern=SHOW_LISTED.pattern))


async def list_message(services: Services, chat: Chat) -> OutgoingMessage:
    """Return /list: the subscriptions, the muted ones and the hidden sources, with buttons."""
    storage = services.storage
    subscriptions = await storage.list_subscriptions(chat.id)
    base = replies.subscription_list(
        [s.display for s in subscriptions], chat.status is ChatStatus.PAUSED
    )
    muted = await storage.muted_subscriptions(chat.id, services.clock())
    zone = await _zone(services, chat.id)
    return tuning.tuning_list(base, muted, await storage.hidden_feeds(chat.id), zone)


async def _zone(services: Services, chat_id: int) -> tzinfo:
    """The chat's own time zone (/timezone), for the times a mute shows."""
    return zone_of((await services.storage.get_schedule(chat_id)).timezone)


async def tune_button(update: Update, context: Context) -> None:
    """Take one step of muting, stopping or hiding from an alert, in place."""
    callback = update.callback_query
    chat = update.effective_chat
    if callback is None or chat is None:
        return
    services = services_of(context)
    # Alerts carry these buttons in private chats and groups (where only admins get this
    # far), not in channels: data made up there acts on nothing.
    tunable = ChatType.of(chat.type) is not ChatType.CHANNEL
    tune = TUNE.decode(callback.data) if tunable else None
    # In a forum the story may have gone to two topics: the button acts on this topic's alert.
    message = callback.message
    topic = None
    if isinstance(message, Message) and message.is_topic_message:
        topic = message.message_thread_id
    alert = await services.storage.sent_alert(chat.id, tune.story_id, topic) if tune else None
    keyboard, note = await _step(services, chat.id, tune, alert) if tune and alert else EXPIRED
    if keyboard is None:
        await callback.answer(note or tuning.expired())
        return
    await callback.answer(note)
    await _edit_keyboard(callback, keyboard)


async def _step(services: Services, chat_id: int, tune: Tune, alert: SentAlert) -> Step:
    """Do what the button says for the chat's alert; return what the alert shows next."""
    story = tune.story_id
    storage = services.storage
    if tune.action is TuneAction.BACK:
        return alert_keyboard(story), None
    if tune.action is TuneAction.HIDE:
        if alert.feed_id is None:
            return EXPIRED
        await storage.hide_feed(chat_id, alert.feed_id, services.clock())
        log.info("Chat %s hid feed %s", chat_id, alert.feed_id)
        return tuning.hidden_keyboard(story, alert.source), tuning.hidden(alert.source)
    if tune.action is TuneAction.SHOW:
        if alert.feed_id is None or not await storage.show_feed(chat_id, alert.feed_id):
            return EXPIRED
        return alert_keyboard(story), None
    if tune.action is TuneAction.RESTORE:
        return await _restore(services, chat_id, tune, alert)
    # This topic's subscriptions: another topic may follow a query of the same name.
    subscriptions = tuning.alert_subscriptions(
        alert.matched,
        [s for s in await storage.list_subscriptions(chat_id) if s.thread_id == alert.thread_id],
    )
    if not subscriptions:
        return None, t("You no longer follow the queries this alert matched.")
    if tune.action is TuneAction.STOP_MENU and len(subscriptions) == 1:
        # One query: stop it at once; the confirmation carries the Undo.
        tune = replace(tune, action=TuneAction.STOP, target=subscriptions[0].id)
    elif tune.action in (TuneAction.MUTE_MENU, TuneAction.STOP_MENU):
        return _menu(tune, subscriptions)
    chosen = next((s for s in subscriptions if s.id == tune.target), None)
    if chosen is None:
        return EXPIRED
    if tune.action is TuneAction.MUTE_PICK:
        return tuning.mute_choices(story, chosen.id), None
    if tune.action is TuneAction.MUTE:
        if tune.extra >= len(tuning.MUTE_DURATIONS):
            return EXPIRED
        until = services.clock() + tuning.MUTE_DURATIONS[tune.extra]
        if await storage.mute_subscription(chat_id, chosen.id, until) is None:
            return EXPIRED
        moment = datetime.fromtimestamp(until, UTC)
        zone = await _zone(services, chat_id)
        keyboard = tuning.muted_keyboard(story, chosen.id, chosen.display, moment, zone)
        return keyboard, tuning.muted(chosen.display, moment, zone)
    if tune.action is TuneAction.UNMUTE:
        await storage.mute_subscription(chat_id, chosen.id, None)
        return alert_keyboard(story), None
    # TuneAction.STOP
    deleted = await services.subscriptions.remove(chat_id, chosen.id)
    if deleted is None:
        return EXPIRED
    log.info("Chat %s stopped subscription %s from an alert", chat_id, deleted.id)
    place = alert.matched.index(deleted.display)
    keyboard = tuning.stopped_keyboard(story, deleted.display, place, deleted.thread_id)
    return keyboard, tuning.stopped(deleted.display)


def _menu(tune: Tune, subscriptions: list[Subscription]) -> Step:
    """The first tap on Mute (or on Stop with several queries): with one matched query, its
    mute choices; with several, which one (muting or stopping all of them for one noisy
    story would lose what the reader still wants from the others)."""
    story = tune.story_id
    if tune.action is TuneAction.STOP_MENU:
        return tuning.query_chooser(story, subscriptions, TuneAction.STOP), None
    if len(subscriptions) == 1:
        return tuning.mute_choices(story, subscriptions[0].id), None
    return tuning.query_chooser(story, subscriptions, TuneAction.MUTE_PICK), None


async def _restore(services: Services, chat_id: int, tune: Tune, alert: SentAlert) -> Step:
    """Undo a stop: subscribe again to the query in that place of the alert's matched list,
    in its forum topic. A new subscription counts matches from now on, so what arrived
    while it was stopped does not come back."""
    if tune.target >= len(alert.matched):
        return EXPIRED
    display = alert.matched[tune.target]
    try:
        query = parse_query(display)
    except QueryError:
        return EXPIRED
    limit = services.settings.max_subscriptions_per_user
    result = await services.subscriptions.add(
        chat_id, [(query.normalised, query.display)], limit, tune.extra or None
    )
    if result.over_limit:
        return None, t("Not added: you are at your limit of subscriptions.")
    return alert_keyboard(tune.story_id), None


async def unmute_listed(update: Update, context: Context) -> None:
    """End a mute now, from /list, and show /list again in place."""
    callback = update.callback_query
    chat = update.effective_chat
    if callback is None or chat is None:
        return
    services = services_of(context)
    subscription_id = UNMUTE_LISTED.decode(callback.data)
    done = subscription_id is not None and (
        await services.storage.mute_subscription(chat.id, subscription_id, None) is not None
    )
    await _relist(callback, context, done)


async def show_listed(update: Update, context: Context) -> None:
    """Show a hidden source again, from /list, and show /list again in place."""
    callback = update.callback_query
    chat = update.effective_chat
    if callback is None or chat is None:
        return
    services = services_of(context)
    feed_id = SHOW_LISTED.decode(callback.data)
    done = feed_id is not None and await services.storage.show_feed(chat.id, feed_id)
    await _relist(callback, context, done)


async def _relist(callback: CallbackQuery, context: Context, done: bool) -> None:
    await callback.answer(None if done else tuning.expired())
    if not done:
        return
    update_chat = callback.message.chat if callback.message else None
    if update_chat is None:
        return
    chat = await services_of(context).storage.get_chat(update_chat.id)
    if chat is None:
        return
    message = await list_message(services_of(context), chat)
    try:
        await callback.edit_message_text(message.text, reply_markup=inline_markup(message.keyboard))
    except BadRequest as error:
        log.info("Cannot refresh /list in place: %s", error.message)


async def _edit_keyboard(callback: CallbackQuery, keyboard: Keyboard) -> None:
    try:
        await callback.edit_message_reply_markup(inline_markup(keyboard))
    except BadRequest as error:  # a repeated tap: the keyboard already shows this
        log.info("Cannot change an alert's buttons in place: %s", error.message)
