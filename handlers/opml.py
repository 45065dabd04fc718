"""Admin OPML: /exportfeeds sends the feed list as a file, /importfeeds adds a file's feeds."""

import logging
from datetime import UTC, datetime

from telegram import Document, InputFile, Message, Update
from telegram.error import TelegramError
from telegram.ext import CommandHandler, MessageHandler, filters

from bot.feedlists import export_document
from bot.ingest.feedimport import FeedImporter
from bot.ingest.opml import MAX_OPML_BYTES, OpmlError, read_opml
from bot.render import opml as opml_text
from bot.services import BotApplication, Context
from handlers.admin import admin_only
from handlers.common import services_of
from handlers.reply import reply, retrying

log = logging.getLogger(__name__)

# A command in a document's caption is no text command to PTB's CommandHandler.
IMPORT_CAPTION = filters.CaptionRegex(r"^/importfeeds(?:@\w+)?(?:\s|$)")


def register(app: BotApplication) -> None:
    """Add /exportfeeds and /importfeeds (as a command, or as a document's caption)."""
    app.add_handler(CommandHandler("exportfeeds", admin_only(export_feeds)))
    app.add_handler(CommandHandler("importfeeds", admin_only(import_feeds)))
    app.add_handler(MessageHandler(filters.Document.ALL & IMPORT_CAPTION, admin_only(import_feeds)))


async def export_feeds(update: Update, context: Context) -> None:
    """Send every feed as an OPML 2.0 document."""
    message = update.effective_message
    if message is None:
        return
    services = services_of(context)
    now = datetime.fromtimestamp(services.clock(), UTC)
    document, count = await export_document(services.storage, now)
    if count == 0:
        await reply(message, opml_text.nothing_to_export())
        return
    await retrying(
        message.chat_id,
        lambda: message.reply_document(
            InputFile(document, filename=f"newshound-feeds-{now:%Y-%m-%d}.opml"),
            caption=opml_text.export_caption(count),
        ),
    )
    log.info("Exported %d feeds as OPML to %s", count, message.chat_id)


async def import_feeds(update: Update, context: Context) -> None:
    """Read the attached (or replied-to) OPML file and add its feeds in the background."""
    message = update.effective_message
    if message is None:
        return
    document = _document_of(message)
    if document is None:
        await reply(message, opml_text.import_usage())
        return
    if document.file_size is not None and document.file_size > MAX_OPML_BYTES:
        await reply(message, opml_text.file_too_big(document.file_size))
        return
    status = await reply(message, opml_text.reading_file(document.file_name or "OPML"))
    context.application.create_task(_import(document, status, context), update=update)


def _document_of(message: Message) -> Document | None:
    if message.document is not None:
        return message.document
    replied = message.reply_to_message
    return replied.document if replied is not None else None


async def _import(document: Document, status: Message, context: Context) -> None:
    try:
        file = await document.get_file()
        data = bytes(await file.download_as_bytearray())
    except TelegramError as error:
        log.warning("Could not download OPML file %s: %s", document.file_unique_id, error)
        await status.edit_text(opml_text.download_failed())
        return
    try:
        listed = read_opml(data)
    except OpmlError as error:
        log.info("Refused an OPML import: %s", error.msgid)
        await status.edit_text(opml_text.not_imported(str(error)))
        return
    await status.edit_text(opml_text.checking_feeds(len(listed)))
    services = services_of(context)
    importer = FeedImporter(services.fetcher, services.parsers, services.storage, services.clock)
    first, *more = opml_text.import_report(await importer.add_all(listed))
    await status.edit_text(first)
    for part in more:
        await reply(status, part)
