"""Forum topics: /movetopic sends a group's alerts to the topic it is run in.

A subscription made in a topic alerts into that topic. When a topic is deleted or closed,
its alerts fail (the worker logs which topic); an admin runs /movetopic in the topic that
should get them instead (in the General topic: the chat itself).
"""

import logging

from telegram import Update
from telegram.ext import CommandHandler

from bot.matching.query import split_queries
from bot.render import groups as texts
from bot.services import BotApplication, Context
from bot.storage import Subscription
from handlers.common import answer, command_argument, known_chat, services_of, stop_waiting
from handlers.groups import admins_only
from handlers.subscriptions import MAX_QUERIES_PER_COMMAND, find_subscription

log = logging.getLogger(__name__)
ALL = "all"


def register(app: BotApplication) -> None:
    """Add /movetopic, for a group's admins."""
    app.add_handler(CommandHandler("movetopic", admins_only(movetopic_command)))


async def movetopic_command(update: Update, context: Context) -> None:
    """Move all, or the named (numbers as in /list, or queries), of the chat's subscriptions
    to the forum topic this command was sent in."""
    stop_waiting(context)
    chat = update.effective_chat
    message = update.effective_message
    if chat is None or message is None or not chat.is_forum:
        await answer(update, texts.movetopic_not_a_topic())
        return
    known = await known_chat(update, context)
    text = command_argument(update)
    if known is None or not text:
        await answer(update, texts.movetopic_usage())
        return
    services = services_of(context)
    subscriptions = await services.storage.list_subscriptions(known.id)
    chosen: list[Subscription] = []
    missing: list[str] = []
    if text.casefold() == ALL:
        chosen = subscriptions
    else:
        for raw in (split_queries(text) or [text])[:MAX_QUERIES_PER_COMMAND]:
            found = find_subscription(subscriptions, raw)
            if found is None:
                missing.append(raw)
            else:
                chosen.append(found)
    # General, a forum's first topic, has no thread id: alerts there go to the chat itself.
    topic = message.message_thread_id if message.is_topic_message else None
    moved = await services.subscriptions.move_to_topic(known.id, [s.id for s in chosen], topic)
    log.info("Chat %s moved %d subscriptions to topic %s", known.id, len(moved), topic)
    await answer(update, texts.moved_to_topic([s.display for s in moved], missing))
