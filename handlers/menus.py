"""The command menus Telegram shows: the subscribers' and the admins', in every language.

Telegram picks a menu by scope, then by the reader's own app language: the default scope is
set once per supported language at start (English for every other language). A chat that
chose its language with /language, and each admin's private chat, gets a menu of its own
(BotCommandScopeChat) in the chat's language, which Telegram prefers to the default ones.
"""

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import BadRequest

from bot.i18n import DEFAULT_LOCALE, SUPPORTED_LOCALES, language_name, t, use_locale
from bot.services import ChatLanguages

log = logging.getLogger(__name__)


def subscriber_commands() -> list[BotCommand]:
    """The subscribers' commands, described in the current locale."""
    languages = ", ".join(language_name(code, capitalised=True) for code in SUPPORTED_LOCALES)
    return [
        BotCommand("subscribe", t("Watch for stories: /subscribe Ukraine")),
        BotCommand("try", t("What a query would have found this week")),
        BotCommand("unsubscribe", t("Stop watching a query")),
        BotCommand("list", t("Your subscriptions")),
        BotCommand("pause", t("Pause alerts")),
        BotCommand("resume", t("Resume alerts")),
        # Each language named in itself, so a reader lost in another finds theirs.
        BotCommand("language", t("Language: {languages}", languages=languages)),
        BotCommand("settings", t("Time zone, quiet hours and digests")),
        BotCommand("channel", t("Alerts for your channels")),
        BotCommand("help", t("Commands and query syntax")),
    ]


def admin_commands() -> list[BotCommand]:
    """The admins' own commands, described in the current locale."""
    return [
        BotCommand("broadcast", t("Announce something to every subscriber")),
        BotCommand("addfeed", t("Watch a new feed: /addfeed URL")),
        BotCommand("removefeed", t("Stop watching a feed: /removefeed URL or number")),
        BotCommand("feeds", t("All feeds and their health")),
        BotCommand("exportfeeds", t("The feed list as an OPML file")),
        BotCommand("importfeeds", t("Add the feeds of an OPML file (as its caption)")),
        BotCommand("stats", t("Users, subscriptions, feeds and delivery figures")),
    ]


async def set_default_menus(bot: Bot) -> None:
    """Set the subscribers' menu in each language (English also for languages not served)."""
    for locale in SUPPORTED_LOCALES:
        with use_locale(locale):
            language_code = None if locale == DEFAULT_LOCALE else locale
            await bot.set_my_commands(subscriber_commands(), language_code=language_code)


async def set_chat_menu(bot: Bot, chat_id: int, *, admin: bool) -> None:
    """Give the chat a menu of its own in the current locale; an admin's has their commands."""
    commands = [*subscriber_commands(), *admin_commands()] if admin else subscriber_commands()
    try:
        await bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id))
    except BadRequest as error:
        log.warning(
            "Cannot set the menu of %s (has it started the bot?): %s", chat_id, error.message
        )


async def set_admin_menus(bot: Bot, admin_ids: frozenset[int], languages: ChatLanguages) -> None:
    """Show admin commands in each admin's own menu, in their chat's language; subscribers'
    menus stay unchanged."""
    for admin_id in sorted(admin_ids):
        with use_locale(await languages.locale_of(admin_id, None)):
            await set_chat_menu(bot, admin_id, admin=True)
