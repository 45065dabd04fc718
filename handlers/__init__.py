"""Telegram handlers, thin: parse the update, call the core, reply.

subscriber.py registers the subscriber commands (start, help, list, pause, resume, language
and the fallbacks); subscriptions.py subscribes and unsubscribes; language.py lets a chat
pick its language and menus.py sets the command menus in every language; tuning.py answers
the buttons on alerts (mute, stop, hide source) and /list's undo buttons; membership.py
follows the bot's own membership and chat migrations; admins.py asks Telegram (briefly
cached) who administers a group or channel, and groups.py lets only a group's admins change
its alerts and ignores what is not addressed to the bot there; admin.py holds the admin
commands (feeds, stats) and broadcast.py the broadcasts; throttle.py slows a flooding chat
before any other handler; dryrun.py answers /try; schedule.py holds /settings, /timezone,
/quiet and /digest; topics.py holds /movetopic; registry.py registers them all in order;
common.py and reply.py are what they share.
"""
