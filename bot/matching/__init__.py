"""Matching (pure): the query language and one index over every subscription.

query.py parses what a person types into a normalised Query and says whether a story's
words satisfy it; index.py is the SubscriptionIndex that matches a story once and returns
the queries (and chats) it concerns, through terms.py, which finds every subscribed term a
story holds in one pass. Both take their words from bot.text.analyzer.
"""
