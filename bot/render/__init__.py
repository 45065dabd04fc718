"""Render: turn what the bot has to say into Telegram messages; pure, no I/O, no telegram.

Every text comes from the message catalogue (bot.i18n), in the current locale. html.py
escapes, measures (UTF-16, as Telegram counts) and cuts Telegram HTML, and splits long
replies (html_split.py cuts one over-long line); alerts.py lays out alerts and digests
(outlets.py an alert's "Also:" line);
outbox.py turns outbox rows into them in the recipient chat's language; replies.py answers
subscribers; language.py is what /language shows; admin.py holds the admin commands' texts;
message.py is the outgoing message (text, inline keyboard, forum topic) that delivery and
replies send as given; callbacks.py is the one registry of button callback data.
"""
