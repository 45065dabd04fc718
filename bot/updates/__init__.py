"""Updates from Telegram and each chat's share of the bot's attention.

`traffic` runs chats side by side while keeping each chat's updates in order, and records
what Telegram accepted for each chat; `flood` (pure) decides how much a chat may be answered,
mirroring Telegram's per-chat send limit. handlers/throttle.py applies that decision.
`budget` keeps Telegram's overall send rate, a reply to an update before delivery's sends.
"""
