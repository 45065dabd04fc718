"""What a channel's admin reads: linking, the list of linked channels, a channel's card and
the notes when the bot loses or regains the right to post there (current locale, HTML)."""

from bot.i18n import t, tn
from bot.render.callbacks import CHANNEL, ChannelAction
from bot.render.html import escape
from bot.render.message import Button, OutgoingMessage
from bot.storage import ChatStatus, LinkedChannel

# Telegram shows long keyboards badly; more linked channels are reached by @name.
MAX_CHANNEL_BUTTONS = 30


def handle(channel: LinkedChannel) -> str:
    """How commands name the channel: its @username, or its id when it has none."""
    username = channel.chat.username
    return f"@{username}" if username else str(channel.chat.id)


def title(channel: LinkedChannel) -> str:
    """The channel's title (escaped), or its handle when it has none."""
    return escape(channel.chat.title or handle(channel))


def channels_line() -> str:
    """/help's line about channels."""
    return t("/channel — post alerts in a channel you run")


def channel_help() -> str:
    """How channels are linked and managed from the private chat."""
    return t(
        "<b>Channels</b>\n"
        "Make me an admin of your channel with the right to post messages, then:\n"
        "/channel add @name — link it (or forward me one of its posts)\n"
        "/channel remove @name — unlink it\n"
        "Manage it from here: <code>/subscribe @name Ukraine, NATO</code>, /list @name, "
        "/unsubscribe @name, /pause @name, /resume @name, /settings @name "
        "(and /timezone, /quiet, /digest, /language with @name)."
    )


def channel_list(channels: list[LinkedChannel]) -> OutgoingMessage:
    """The channels the person linked, one button each (or how to link one)."""
    if not channels:
        return OutgoingMessage(t("You have not linked a channel yet.") + "\n\n" + channel_help())
    keyboard = tuple(
        (
            Button(
                "📣 " + (channel.chat.title or handle(channel)),
                _encode(channel, ChannelAction.SHOW),
            ),
        )
        for channel in channels[:MAX_CHANNEL_BUTTONS]
    )
    text = tn(
        "You linked {n} channel: tap it to see its alerts.",
        "You linked {n} channels: tap one to see its alerts.",
        len(channels),
    )
    return OutgoingMessage(text + "\n\n" + channel_help(), keyboard)


def channel_card(channel: LinkedChannel, subscriptions: int) -> OutgoingMessage:
    """A channel's state: its alerts, how many queries it follows, the Matched line, and a
    button to show or hide that line."""
    name = escape(handle(channel))
    if channel.chat.status is ChatStatus.ACTIVE:
        state = t("Alerts are on.")
    elif channel.chat.status is ChatStatus.PAUSED:
        state = still_paused(channel)
    else:
        state = t("Alerts are stopped: I cannot post in the channel.")
    follows = tn("It follows {n} query.", "It follows {n} queries.", subscriptions)
    if channel.show_matched:
        matched = t("Alerts end with the queries they matched.")
        button = Button(t("Hide the matched queries"), _encode(channel, ChannelAction.HIDE_MATCHED))
    else:
        matched = t("Alerts do not show the queries they matched.")
        button = Button(t("Show the matched queries"), _encode(channel, ChannelAction.SHOW_MATCHED))
    lines = [f"📣 <b>{title(channel)}</b> {name}", state, follows, matched]
    lines.append(t("See them with /list {name}.", name=name))
    return OutgoingMessage("\n".join(lines), ((button,),))


def _encode(channel: LinkedChannel, action: ChannelAction) -> str:
    return CHANNEL.encode((action, channel.chat.id))


def linked(channel: LinkedChannel) -> str:
    """The channel is linked; what to do next."""
    return t(
        "✅ Linked {title}. Choose what it follows: <code>/subscribe {name} Ukraine, NATO</code>",
        title=title(channel),
        name=escape(handle(channel)),
    )


def unlinked(channel: LinkedChannel, removed: int) -> str:
    """The channel is unlinked and its subscriptions removed."""
    return tn(
        "Unlinked {title} and removed its {n} subscription.",
        "Unlinked {title} and removed its {n} subscriptions.",
        removed,
        title=title(channel),
    )


def link_usage() -> str:
    """/channel add without a channel."""
    return t("Name the channel: <code>/channel add @name</code>, or forward me one of its posts.")


def not_found(name: str) -> str:
    """getChat knows no such public chat."""
    return t(
        "I cannot find {name}. Check the name, or forward me a post from the channel.",
        name=escape(name),
    )


def not_a_channel(name: str) -> str:
    """The name belongs to a group or a person."""
    return t("{name} is not a channel.", name=escape(name))


def cannot_post(name: str) -> str:
    """The bot is not an admin of the channel with the right to post."""
    return t(
        "I cannot post in {name}. Make me an admin of the channel with the right to post "
        "messages, then try again.",
        name=escape(name),
    )


def not_an_admin(name: str) -> str:
    """The person does not administer the channel."""
    return t("Only the admins of {name} can link it or manage its alerts.", name=escape(name))


def not_linked(name: str, word: str | None = None) -> str:
    """A command named a channel that is not linked; with the word a /subscribe may have
    meant, how to watch for it instead."""
    text = t(
        "{name} is not linked. Link it first: <code>/channel add {name}</code>",
        name=escape(name),
    )
    if word is None:
        return text
    hint = t(
        "To watch for the word itself, leave out the @: <code>/subscribe {word}</code>",
        word=escape(word),
    )
    return f"{text}\n{hint}"


def private_only() -> str:
    """/channel outside a private chat."""
    return t("Link and manage channels in a private chat with me.")


def paused(channel: LinkedChannel) -> str:
    """/pause @name: the channel's alerts are off until /resume @name."""
    return t(
        "⏸ Alerts paused in {title}; its subscriptions are kept. Send /resume {name} to turn "
        "them on.",
        title=title(channel),
        name=escape(handle(channel)),
    )


def still_paused(channel: LinkedChannel) -> str:
    """The channel's alerts are paused (a note after subscribing it, or a repeated /pause)."""
    return t("Alerts are paused: /resume {name}", name=escape(handle(channel)))


def subscribe_usage(channel: LinkedChannel) -> str:
    """/subscribe @name without queries."""
    return t(
        "Say what {name} should follow: <code>/subscribe {name} Ukraine, NATO</code>",
        name=escape(handle(channel)),
    )


def unsubscribe_usage(channel: LinkedChannel) -> str:
    """/unsubscribe @name without queries (buttons act on the private chat, so none)."""
    return t(
        "Name what {name} should stop following: <code>/unsubscribe {name} NATO</code> "
        "(or its number in /list {name}).",
        name=escape(handle(channel)),
    )


def language_usage(channel: LinkedChannel) -> str:
    """/language @name without a supported code."""
    return t(
        "Choose the language of {name}'s alerts: <code>/language {name} uk</code> (en, uk or ru).",
        name=escape(handle(channel)),
    )


def language_set(channel: LinkedChannel, language: str) -> str:
    """The channel's alerts are in this language from now on."""
    return t("{title} gets its alerts in {language} now.", title=title(channel), language=language)


def posting_lost(channel: LinkedChannel) -> str:
    """Note to the linking admin: the bot was removed or may no longer post."""
    return t(
        "⚠️ I can no longer post in {title}, so its alerts have stopped. Make me an admin "
        "with the right to post messages and they resume.",
        title=title(channel),
    )


def posting_restored(channel: LinkedChannel) -> str:
    """Note to the linking admin: the bot may post again."""
    return t("✅ I can post in {title} again: its alerts resume.", title=title(channel))


def posting_lost_while_paused(channel: LinkedChannel) -> str:
    """Note to the linking admin: the bot may no longer post in a channel paused anyway."""
    return t(
        "⚠️ I can no longer post in {title}. Its alerts are paused; before you send /resume "
        "{name}, make me an admin with the right to post messages.",
        title=title(channel),
        name=escape(handle(channel)),
    )


def posting_restored_while_paused(channel: LinkedChannel) -> str:
    """Note to the linking admin: the bot may post again, but its admins paused the alerts."""
    return t(
        "✅ I can post in {title} again. Its alerts are still paused: send /resume {name} to "
        "turn them back on.",
        title=title(channel),
        name=escape(handle(channel)),
    )
