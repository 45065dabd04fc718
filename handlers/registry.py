"""Every handler module registered on the application, in the order PTB must try them."""

from bot.services import BotApplication
from bot.updates.flood import FloodGate
from handlers import (
    admin,
    channels,
    dryrun,
    opml,
    schedule,
    subscriber,
    throttle,
    topics,
    tuning,
)


def register_all(app: BotApplication, gate: FloodGate) -> None:
    """Register the flood gate first, the commands and buttons, then the catch-alls last."""
    throttle.register(app, gate)
    subscriber.register(app)
    dryrun.register(app)
    tuning.register(app)
    admin.register(app)
    opml.register(app)
    schedule.register(app)
    channels.register(app)
    topics.register(app)
    subscriber.register_fallbacks(app)
