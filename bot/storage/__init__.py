"""Storage: what the bot keeps, behind typed protocols.

models.py holds the values storage takes and returns (claims.py those of fan-out on
read: the queries a story matched, a chat's claim of its pending stories); protocols.py
one protocol per entity and Storage, their union, which the rest of the bot depends on;
errors.py the errors every backend raises; edits.py the edits of sent alerts whose story
came from another outlet; tuning.py a chat's muted queries and hidden sources (set from an
alert's buttons); health.py the health probe's write and the delivery backlog (for /healthz
and /metrics); channels.py the channels linked as subscribers (who linked each, its
"Matched" line); instances.py the instances sharing a database and the polling lock;
rows.py the row shapes both backends share; retention.py what is old
enough to prune and the task that prunes it.
sqlite/ is the default backend (sqlite/faults.py: which of its errors pause), postgres/
the one DATABASE_URL chooses; backends.py opens the one the settings name. Which stories
are new and who gets an alert or a digest are pure rules elsewhere (bot.ingest.stories,
bot.delivery.fanout and burst) that a backend applies and persists.
"""

from bot.storage.channels import Channels, LinkedChannel
from bot.storage.claims import (
    ChatSchedule,
    ChatSubscription,
    ChatWork,
    Claim,
    ClaimedRow,
    ClaimPlan,
    ClaimPlanner,
    Claims,
    Lane,
    PlannedRow,
    Schedules,
    StoryMatch,
)
from bot.storage.edits import AlertEdit, AlertEdits, DueEdits, EditOutcome
from bot.storage.errors import StorageError, StorageUnavailable
from bot.storage.health import Backlog, Health
from bot.storage.instances import Instances, PollingLock
from bot.storage.models import (
    AddedSubscriptions,
    Broadcast,
    BroadcastStatus,
    Chat,
    ChatSeen,
    ChatStatus,
    ChatType,
    Delivery,
    Feed,
    OutboxItem,
    PendingRow,
    PollToSave,
    PrunedPage,
    SavedPoll,
    Stats,
    StoryMatcher,
    StoryToSave,
    Subscription,
    TriedStory,
)
from bot.storage.protocols import (
    Broadcasts,
    Chats,
    Feeds,
    Outbox,
    Retention,
    StatsSource,
    Storage,
    Subscriptions,
    UnitOfWork,
)
from bot.storage.search import StorySearch
from bot.storage.tuning import HiddenFeed, MutedSubscription, SentAlert, Tuning

__all__ = [
    "AddedSubscriptions",
    "AlertEdit",
    "AlertEdits",
    "Backlog",
    "Broadcast",
    "BroadcastStatus",
    "Broadcasts",
    "Channels",
    "Chat",
    "ChatSchedule",
    "ChatSeen",
    "ChatStatus",
    "ChatSubscription",
    "ChatType",
    "ChatWork",
    "Chats",
    "Claim",
    "ClaimPlan",
    "ClaimPlanner",
    "ClaimedRow",
    "Claims",
    "Delivery",
    "DueEdits",
    "EditOutcome",
    "Feed",
    "Feeds",
    "Health",
    "HiddenFeed",
    "Instances",
    "Lane",
    "LinkedChannel",
    "MutedSubscription",
    "Outbox",
    "OutboxItem",
    "PendingRow",
    "PlannedRow",
    "PollToSave",
    "PollingLock",
    "PrunedPage",
    "Retention",
    "SavedPoll",
    "Schedules",
    "SentAlert",
    "Stats",
    "StatsSource",
    "Storage",
    "StorageError",
    "StorageUnavailable",
    "StoryMatch",
    "StoryMatcher",
    "StorySearch",
    "StoryToSave",
    "Subscription",
    "Subscriptions",
    "TriedStory",
    "Tuning",
    "UnitOfWork",
]
