"""Who is in which chat, for the Bot API fake: ChatMember objects as Telegram sends them.

The fake keeps one ``ChatMembers`` (behind its lock) and answers getChatMember from it; a
test makes a user an admin (``BotApiFake.make_admin``) or gives them any other status.
Telegram's shapes, as python-telegram-bot 22 reads them: an administrator carries every
``can_*`` right (those not given are False, except ``can_manage_chat``, which every
administrator has), a restricted member every permission (True unless taken away), a
kicked one ``until_date`` (0: for ever).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]

STATUSES = frozenset({"creator", "administrator", "member", "restricted", "left", "kicked"})
# An anonymous admin's messages come from this bot, with the group as sender_chat.
GROUP_ANONYMOUS_BOT: JSON = {
    "id": 1087968824,
    "is_bot": True,
    "first_name": "Group",
    "username": "GroupAnonymousBot",
}
ADMIN_RIGHTS = (
    "can_be_edited",
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    "can_post_messages",
    "can_edit_messages",
    "can_pin_messages",
    "can_manage_topics",
)
MEMBER_PERMISSIONS = (
    "can_send_messages",
    "can_send_audios",
    "can_send_documents",
    "can_send_photos",
    "can_send_videos",
    "can_send_video_notes",
    "can_send_voice_notes",
    "can_send_polls",
    "can_send_other_messages",
    "can_add_web_page_previews",
    "can_change_info",
    "can_invite_users",
    "can_pin_messages",
    "can_manage_topics",
    "can_edit_tag",
    "can_react_to_messages",
)


def member_json(user: JSON, status: str, rights: dict[str, bool] | None = None) -> JSON:
    """A ChatMember object for ``user`` with ``status``; ``rights`` set can_* flags."""
    if status not in STATUSES:
        raise ValueError(f"unknown chat member status {status!r}")
    given = dict(rights or {})
    member: JSON = {"status": status, "user": copy.deepcopy(user)}
    if status == "creator":
        member["is_anonymous"] = given.pop("is_anonymous", False)
    elif status == "administrator":
        member["is_anonymous"] = given.pop("is_anonymous", False)
        member.update({right: right == "can_manage_chat" for right in ADMIN_RIGHTS})
    elif status == "restricted":
        member["is_member"] = given.pop("is_member", True)
        member["until_date"] = 0
        member.update(dict.fromkeys(MEMBER_PERMISSIONS, True))
    elif status == "kicked":
        member["until_date"] = 0
    unknown = set(given) - set(ADMIN_RIGHTS) - set(MEMBER_PERMISSIONS)
    if unknown:
        raise ValueError(f"unknown rights {sorted(unknown)}")
    if given and status not in ("administrator", "restricted"):
        raise ValueError(f"a {status} has no rights to set")
    member.update(given)
    return member


def can_post(member: JSON | None) -> bool:
    """Whether a member with this state may send messages to its chat (None: a member)."""
    if member is None:
        return True
    status = member["status"]
    if status in ("left", "kicked"):
        return False
    if status == "restricted":
        return bool(member.get("is_member")) and bool(member.get("can_send_messages"))
    return True


@dataclass
class ChatMembers:
    """Each chat's members by user id; users never seen in a chat have left it."""

    chats: dict[int, dict[int, JSON]] = field(default_factory=dict)

    def set(self, chat_id: int, member: JSON) -> JSON:
        """Record a member's state; return the previous one (a "left" one if unknown)."""
        user = member["user"]
        previous = self.get(chat_id, user)
        self.chats.setdefault(chat_id, {})[user["id"]] = copy.deepcopy(member)
        return previous

    def get(self, chat_id: int, user: JSON) -> JSON:
        """The member's state in the chat; someone never seen there has "left"."""
        known = self.chats.get(chat_id, {}).get(user["id"])
        return copy.deepcopy(known) if known is not None else member_json(user, "left")

    def known(self, chat_id: int, user_id: int) -> JSON | None:
        """The member's recorded state, or None if the chat never saw them."""
        known = self.chats.get(chat_id, {}).get(user_id)
        return copy.deepcopy(known) if known is not None else None

    def join(self, chat_id: int, user: JSON) -> None:
        """Someone who writes in a chat is in it: a plain member unless already known."""
        self.chats.setdefault(chat_id, {}).setdefault(user["id"], member_json(user, "member"))
