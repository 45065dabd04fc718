"""Rendering: what a person reads, as Telegram HTML messages built from plain data.

Every text comes from the message catalogue (bot.i18n); nothing here does I/O or knows
Telegram's API. replies.py: answers to subscribers; admin.py: the admin commands' texts.
"""
