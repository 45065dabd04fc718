"""Delivery: the outbox worker and the rules it follows.

burst.py decides which new matches go to a chat as alerts and which as digest lines (pure);
worker.py sends pending outbox rows and records each outcome (outcomes.py commits them in
groups); pacing.py keeps each chat within Telegram's limits and serves chats fairly, on the
token buckets of ratelimit.py; markup.py turns a rendered keyboard into Telegram's;
edits.py edits sent alerts whose story came from another outlet ("Also: …").
"""
