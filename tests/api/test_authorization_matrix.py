"""The authorization matrix: every route of /openapi.json and every WebSocket frame type, called by
every kind of principal with its own object ids, another's and ids that name nothing.

What each may do is docs/permissions.md: the role table (each route's `x-permission`), the
ownership rules ("whose objects") and the sanctions of docs/enforcement.md. Three things hold
for every cell: no unexpected allow (another's private object is never served or changed), no
existence oracle (for a principal without access, another's id and a missing id get the same
status and error code), and a principal's own object is never refused as if it were not theirs.
A route with ids the matrix does not know how to fill fails the test instead of being skipped.
"""

from __future__ import annotations

import asyncio
import io
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio
from PIL import Image
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import (
    AGREEMENT_VERSION,
    PASSWORD,
    Server,
    User,
    fresh_identity,
    unique_handle,
)
from tests.support import (
    FLAGGED,
    applied,
    case_of,
    confirm_phone_of,
    group_of,
    openapi_routes,
    public_account,
    query_parameters,
    request_bodies,
    sent,
)
from townhall.api.deps import PERMISSION_KEY, READING_METHODS
from townhall.domain.accounts import Role
from townhall.domain.permissions import Permission, permits

# One world for the module, on the shared server: its principals are made for it alone.
pytestmark = [
    pytest.mark.usefixtures("no_server_errors"),
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.long,  # among the longest modules: scheduled first (conftest.py)
]

NO_SUCH_ID = 999_999_999
ALL_METHODS = ("get", "post", "put", "patch", "delete")
LOG_OUT = ("DELETE", "/api/v1/sessions/current")
LEAVE = ("DELETE", "/api/v1/me")
# The principals, each in one place of the world below.
ANONYMOUS, USER, OTHER_USER, GROUP_OWNER, OPERATOR = (
    "anonymous", "user", "other user", "group owner", "public-account operator"
)  # fmt: skip
REVIEWER, ADMIN, AUDITOR, SANCTIONED, DEREGISTERED = (
    "reviewer", "admin", "auditor", "sanctioned", "deregistered"
)  # fmt: skip
ROLE_OF = {
    USER: Role.USER, OTHER_USER: Role.USER, GROUP_OWNER: Role.USER, OPERATOR: Role.USER,
    SANCTIONED: Role.USER, REVIEWER: Role.REVIEWER, ADMIN: Role.ADMIN, AUDITOR: Role.AUDITOR,
}  # fmt: skip


# Whose objects ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """A kind of object a route's id names: the world's objects of that kind, in order.

    `public`: any account that may see the object may use it this way (read a published post,
    subscribe to an approved account); otherwise only its owners may. `desk`: a staff record,
    no one's own: the route's permission alone decides. `optional`: left out of the call where
    the principal has no object of the kind to put there."""

    candidates: tuple[str, ...]
    public: bool = False
    desk: bool = False
    optional: bool = False


KINDS = {
    # A conversation is its members'.
    "conversation": Kind(("direct", "group", "sanctioned_chat")),
    # An invitation is its invitee's (one group per route: accepting uses one up).
    "invitation_to_accept": Kind(("invitation_to_accept",)),
    "invitation_to_decline": Kind(("invitation_to_decline",)),
    # An approved account is everyone's to read and follow; an application only its applicant's.
    "public_account": Kind(("account", "application_pending"), public=True),
    # Publishing is the operator's.
    "operated_account": Kind(("account", "application_pending")),
    "post": Kind(("post", "held_post"), public=True),
    # Deleting a post is its account's operator's.
    "operated_post": Kind(("post_to_delete", "held_post")),
    # A message is reported by those who can read it: the conversation's members.
    "message": Kind(("direct_message", "group_message", "sanctioned_chat_message")),
    # A message is recalled by its sender alone.
    "sent_message": Kind(("sent_direct_message", "sent_group_message", "sent_sanctioned_message")),
    # A forward is continued from the message that carried it, by those who read that message.
    "forward_message": Kind(("forward_message",), optional=True),
    # A sanction is appealed by its subject, a removal by the removed content's author.
    "sanction": Kind(("sanction",)),
    "appealed_case": Kind(("case",)),
    # Anyone reports what they may see: a published post, an approved account, any account; a
    # group only its members.
    "reported_post": Kind(("post", "held_post"), public=True),
    "reported_account": Kind(("account", "application_pending"), public=True),
    "reported_user": Kind(("person",), public=True),
    "reported_group": Kind(("group",)),
    # Staff records: the permission decides, and nobody owns them.
    "person": Kind(("person",), desk=True),
    "case": Kind(("case",), desk=True),
    "staff_sanction": Kind(("sanction",), desk=True),
    "appeal": Kind(("appeal",), desk=True),
    "forward": Kind(("forward",), desk=True),
    "rescan": Kind(("rescan",), desk=True),
    "application": Kind(("account", "application_pending"), desk=True),
    # A session is its account's to end (the world's spare one: the principals' stay).
    "session": Kind(("spare_session",)),
    # A filter of a staff list: a missing id finds nothing rather than nothing found.
    "person_filter": Kind(("person",), desk=True, optional=True),
    # Group life: a group is invited to by its members, run by its owner (and admins), left by
    # a member; each use that changes it for good has a group of its own. The members, requests
    # and links a route acts on are its manager's to name.
    "member_group": Kind(("group",)),
    "managed_group": Kind(("managed_group",)),
    "group_to_leave": Kind(("group_to_leave",)),
    "group_to_dissolve": Kind(("group_to_dissolve",)),
    "group_to_remove_from": Kind(("group_to_remove_from",)),
    "group_to_transfer": Kind(("group_to_transfer",)),
    "managed_member": Kind(("managed_member",), optional=True),
    "removable_member": Kind(("removable_member",), optional=True),
    "transferee": Kind(("transferee",), optional=True),
    "request_to_approve": Kind(("request_to_approve",), optional=True),
    "request_to_decline": Kind(("request_to_decline",), optional=True),
    "managed_link": Kind(("managed_link",), optional=True),
    "group_record": Kind(("group",), desk=True),
    # A media object is its uploader's; whoever may read what carries it reads it too (the
    # conversation's members, every reader of a published post), and the review desk any.
    "media": Kind(("direct_image", "group_image", "post_image"), public=True),
    # What a send or a post carries: the principal's own uploads.
    "attached_media": Kind(("direct_image", "group_image", "post_image"), optional=True),
}

GROUP = "/api/v1/conversations/{conversation_id}"
MANAGED = {"conversation_id": "managed_group"}
MANAGED_MEMBER = {**MANAGED, "user_id": "managed_member"}

# The ids of every route that takes one (in its path, or in its body or query when the id names
# an object the caller must be entitled to), and the kind of object each names.
ID_RULES: dict[tuple[str, str], dict[str, str]] = {
    ("GET", "/api/v1/conversations/{conversation_id}"): {"conversation_id": "conversation"},
    ("GET", "/api/v1/conversations/{conversation_id}/messages"): {
        "conversation_id": "conversation"
    },
    ("POST", "/api/v1/conversations/{conversation_id}/messages"): {
        "conversation_id": "conversation",
        "media_ids": "attached_media",
    },
    ("POST", "/api/v1/conversations/{conversation_id}/messages/{message_id}/recall"): {
        "conversation_id": "conversation",
        "message_id": "sent_message",
    },
    ("POST", "/api/v1/conversations/{conversation_id}/read"): {
        "conversation_id": "conversation",
        "message_id": "message",
    },
    ("POST", "/api/v1/invitations/{conversation_id}/accept"): {
        "conversation_id": "invitation_to_accept"
    },
    ("POST", "/api/v1/invitations/{conversation_id}/decline"): {
        "conversation_id": "invitation_to_decline"
    },
    ("GET", "/api/v1/public-accounts/{public_account_id}"): {"public_account_id": "public_account"},
    ("GET", "/api/v1/public-accounts/{public_account_id}/posts"): {
        "public_account_id": "public_account"
    },
    ("PUT", "/api/v1/public-accounts/{public_account_id}/subscription"): {
        "public_account_id": "public_account"
    },
    ("DELETE", "/api/v1/public-accounts/{public_account_id}/subscription"): {
        "public_account_id": "public_account"
    },
    ("POST", "/api/v1/public-accounts/{public_account_id}/posts"): {
        "public_account_id": "operated_account",
        "media_ids": "attached_media",
    },
    ("GET", "/api/v1/posts/{post_id}"): {"post_id": "post"},
    ("DELETE", "/api/v1/posts/{post_id}"): {"post_id": "operated_post"},
    ("POST", "/api/v1/posts/{post_id}/forwards"): {
        "conversation_id": "conversation",
        "post_id": "post",
        "from_message_id": "forward_message",
    },
    ("POST", "/api/v1/admin/identities/{user_id}/claim"): {"user_id": "person"},
    ("POST", "/api/v1/admin/identities/{user_id}/decision"): {"user_id": "person"},
    ("POST", "/api/v1/admin/identities/{user_id}/reveal"): {"user_id": "person"},
    ("GET", "/api/v1/admin/identity-access"): {"subject_id": "person_filter"},
    ("POST", "/api/v1/admin/blacklist"): {"user_id": "person"},
    ("POST", "/api/v1/admin/identity-links"): {"user_id": "person", "other_user_id": "person"},
    ("POST", "/api/v1/admin/identity-links/unlink"): {"user_id": "person"},
    ("POST", "/api/v1/admin/public-accounts/{public_account_id}/decision"): {
        "public_account_id": "application"
    },
    ("GET", "/api/v1/admin/reach/forwards/{forward_id}/lineage"): {"forward_id": "forward"},
    ("GET", "/api/v1/admin/reach/public-accounts/{public_account_id}"): {
        "public_account_id": "application"
    },
    ("GET", "/api/v1/admin/review/cases/{case_id}"): {"case_id": "case"},
    ("PUT", "/api/v1/admin/review/cases/{case_id}/claim"): {"case_id": "case"},
    ("DELETE", "/api/v1/admin/review/cases/{case_id}/claim"): {"case_id": "case"},
    ("POST", "/api/v1/admin/review/cases/{case_id}/decision"): {"case_id": "case"},
    ("POST", "/api/v1/admin/review/decisions"): {"case_ids": "case"},
    ("POST", "/api/v1/admin/sanctions"): {"subject_id": "person"},
    ("GET", "/api/v1/admin/sanctions"): {"subject_id": "person_filter"},
    ("GET", "/api/v1/audit/log"): {"actor_id": "person_filter", "subject_id": "person_filter"},
    ("GET", "/api/v1/admin/sanctions/standing"): {"subject_id": "person"},
    ("GET", "/api/v1/admin/sanctions/{sanction_id}"): {"sanction_id": "staff_sanction"},
    ("POST", "/api/v1/admin/sanctions/{sanction_id}/lift"): {"sanction_id": "staff_sanction"},
    ("POST", "/api/v1/admin/appeals/{appeal_id}/decision"): {"appeal_id": "appeal"},
    ("GET", "/api/v1/admin/moderation/rescans/{rescan_id}"): {"rescan_id": "rescan"},
    ("DELETE", "/api/v1/me/sessions/{session_id}"): {"session_id": "session"},
    ("POST", f"{GROUP}/members"): {"conversation_id": "member_group"},
    ("PATCH", GROUP): MANAGED,
    ("DELETE", GROUP): {"conversation_id": "group_to_dissolve"},
    ("POST", f"{GROUP}/leave"): {"conversation_id": "group_to_leave"},
    ("DELETE", f"{GROUP}/members/{{user_id}}"): {
        "conversation_id": "group_to_remove_from",
        "user_id": "removable_member",
    },
    ("POST", f"{GROUP}/owner"): {"conversation_id": "group_to_transfer", "user_id": "transferee"},
    ("PUT", f"{GROUP}/admins/{{user_id}}"): MANAGED_MEMBER,
    ("DELETE", f"{GROUP}/admins/{{user_id}}"): MANAGED_MEMBER,
    ("PUT", f"{GROUP}/mutes/{{user_id}}"): MANAGED_MEMBER,
    ("DELETE", f"{GROUP}/mutes/{{user_id}}"): MANAGED_MEMBER,
    ("GET", f"{GROUP}/links"): MANAGED,
    ("POST", f"{GROUP}/links"): MANAGED,
    ("DELETE", f"{GROUP}/links/{{link_id}}"): {**MANAGED, "link_id": "managed_link"},
    ("GET", f"{GROUP}/join-requests"): MANAGED,
    ("POST", f"{GROUP}/join-requests/{{user_id}}/approve"): {
        **MANAGED,
        "user_id": "request_to_approve",
    },
    ("POST", f"{GROUP}/join-requests/{{user_id}}/decline"): {
        **MANAGED,
        "user_id": "request_to_decline",
    },
    ("GET", "/api/v1/admin/groups/{conversation_id}/history"): {"conversation_id": "group_record"},
    ("GET", "/api/v1/media/{media_id}"): {"media_id": "media"},
    ("GET", "/api/v1/media/{media_id}/thumbnail"): {"media_id": "media"},
}
# Routes whose body names one kind of object or another: one rule per kind, with the fields
# that choose it.
BODY_RULES: dict[tuple[str, str], list[tuple[dict[str, Any], dict[str, str]]]] = {
    ("POST", "/api/v1/reports"): [
        ({"target_type": "message"}, {"target_id": "message"}),
        ({"target_type": "post"}, {"target_id": "reported_post"}),
        ({"target_type": "group"}, {"target_id": "reported_group"}),
        ({"target_type": "public_account"}, {"target_id": "reported_account"}),
        ({"target_type": "user"}, {"target_id": "reported_user"}),
    ],
    ("POST", "/api/v1/appeals"): [
        ({}, {"sanction_id": "sanction"}),
        ({}, {"case_id": "appealed_case"}),
    ],
}
# Body and query fields that are ids but name no object the caller must be entitled to: a new
# conversation's other member or invitees (any account may be asked), a staff route's case
# reference, which the route's permission alone guards, a send's own idempotency key, and a join
# link's token (whoever holds it may use it).
# Ids anyone may name: the route answers for them only what the caller may know (`id`: the
# users GET /api/v1/users is asked to name).
FREE_ID_FIELDS = {
    "user_id", "member_ids", "case_id", "member_id", "source_post_id", "client_id", "token", "id"
}  # fmt: skip
ID_FIELD = re.compile(r"(^|_)ids?$")

# What a suspension of updates (docs/enforcement.md) withholds, by route; a group's creation is
# the `group` body of POST /api/v1/conversations.
SUSPENDED = {
    ("POST", "/api/v1/conversations/{conversation_id}/messages"),
    ("POST", "/api/v1/conversations/{conversation_id}/messages/{message_id}/recall"),
    ("POST", "/api/v1/posts/{post_id}/forwards"),
    ("POST", "/api/v1/public-accounts/{public_account_id}/posts"),
    ("POST", "/api/v1/public-accounts"),
    ("PATCH", "/api/v1/me"),
    ("POST", "/api/v1/media"),
    ("WS", "send"),
}
CREATE = ("POST", "/api/v1/conversations")
EVERYONE = frozenset(ROLE_OF)  # every signed-in principal
DESK_STAFF = frozenset({REVIEWER, ADMIN})


@dataclass(frozen=True)
class Owned:
    """An object of the world: the principals whose it is, and those who may see it without it
    being theirs (every signed-in account sees a published post)."""

    id: int
    owners: frozenset[str] = frozenset()
    seen_by: frozenset[str] = frozenset()

    def known_to(self, principal: str) -> bool:
        return principal in self.owners or principal in self.seen_by


@dataclass(frozen=True)
class Cell:
    """One call's ids: `variant` is own, missing, or other:<the world's key of the object>."""

    variant: str
    ids: dict[str, Any]
    seen: bool = False  # another's object that the principal may see
    open: bool = False  # ... as every signed-in account may


@dataclass
class World:
    objects: dict[str, Owned]
    principals: dict[str, User | None]  # None: anonymous
    others: list[User]  # accounts of the world that are no principal (bob)

    def cells(self, principal: str, rule: dict[str, str]) -> list[Cell]:
        """The calls of a principal's row: with its own ids (where it has any), with each of
        another's objects that the first id of the rule may name, and with missing ids."""
        first = next(iter(rule))
        cells = []
        own = self._ids(principal, rule, {})
        if own is not None and not KINDS[rule[first]].desk:
            cells.append(Cell("own", own))
        for key in KINDS[rule[first]].candidates:
            target = self.objects[key]
            if principal in target.owners and not KINDS[rule[first]].desk:
                continue
            ids = self._ids(principal, rule, {first: target.id})
            if ids is not None:
                seen, open_ = target.known_to(principal), target.seen_by == EVERYONE
                cells.append(Cell(f"other:{key}", ids, seen=seen, open=open_))
        missing = self._ids(principal, rule, {first: NO_SUCH_ID})
        cells.append(Cell("missing", missing or dict.fromkeys(rule, NO_SUCH_ID)))
        return cells

    def _ids(
        self, principal: str, rule: dict[str, str], given: dict[str, int]
    ) -> dict[str, Any] | None:
        """The ids of a call: `given` ones, and for the rest the principal's own object (a
        public one: the first it may see); None where a required one is not to be had."""
        ids: dict[str, Any] = {}
        for name, kind_name in rule.items():
            kind = KINDS[kind_name]
            if name in given:
                ids[name] = given[name]
                continue
            objects = [self.objects[key] for key in kind.candidates]
            usable = [
                o
                for o in objects
                if principal in o.owners or (kind.public and o.known_to(principal)) or kind.desk
            ]
            if usable:
                ids[name] = usable[0].id
            elif not kind.optional:
                return None
        return {name: [i] if name.endswith("_ids") else i for name, i in ids.items()}


# The world ------------------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(server: Server) -> AsyncIterator[World]:
    built = await build_world(server)
    yield built
    for user in [*built.principals.values(), *built.others]:
        if user is not None:
            await user.aclose()


async def new_user(server: Server, name: str) -> User:
    """A verified account with its phone confirmed, logged in (as `make_user` makes them)."""
    handle = unique_handle(name)
    user = User(server.base_url, user_id=0, handle=handle, password=PASSWORD)
    profile = await user.register(
        handle,
        PASSWORD,
        name.title(),
        identity=fresh_identity(),
        agreement_version=AGREEMENT_VERSION,
    )
    user.id = profile["id"]
    await user.log_in(handle, PASSWORD)
    await confirm_phone_of(user, server.data_dir)
    return user


async def new_staff(server: Server, role: str) -> User:
    """A staff member of this world's own: the walk may do to it what it does to any account."""
    login = await asyncio.to_thread(server.create_staff, role)
    member = User(server.base_url, user_id=login.user_id, handle=login.handle, password=PASSWORD)
    member.token = login.token
    return member


async def build_world(server: Server) -> World:
    """alice (a direct chat with bob, a group of gina's she joined, two invitations, a forward,
    a report, a second session, an image sent to bob), gina who owns the group (an image sent
    there), olga who operates a public account with posts (one with an image), sam whose updates
    are suspended (a chat of his own with bob), mallory with nothing, staff of each role, dan
    who deregistered; bob, who is no principal, holds the appeal and the reported message."""
    alice, bob, mallory, gina, olga, sam, dan = [
        await new_user(server, name)
        for name in ("alice", "bob", "mallory", "gina", "olga", "sam", "dan")
    ]
    reviewer, admin, auditor = [
        await new_staff(server, role) for role in ("reviewer", "admin", "auditor")
    ]

    direct = (await alice.open_direct(bob.id))["id"]
    direct_message = await sent(bob, direct, "你好")
    group = (await group_of(gina, "茶话会", alice))["id"]
    group_message = await sent(gina, group, "大家好")
    to_accept = (await gina.create_group("读书会", [alice.id]))["id"]
    to_decline = (await gina.create_group("观鸟会", [alice.id]))["id"]
    sanctioned_chat = (await sam.open_direct(bob.id))["id"]
    sanctioned_chat_message = await sent(bob, sanctioned_chat, "在吗")
    sent_direct_message = await sent(alice, direct, "发错了")
    sent_sanctioned_message = await sent(sam, sanctioned_chat, "稍等")
    direct_image = await image_of(alice)
    await alice.send(direct, "", media_ids=[direct_image])
    group_image = await image_of(gina)
    await gina.send(group, "", media_ids=[group_image])

    account = await public_account(olga, reviewer, account_type="service")
    post_image = await image_of(olga)
    post = await olga.request(
        "POST",
        f"/api/v1/public-accounts/{account['id']}/posts",
        json={
            "title": "春茶上市",
            "body": "春茶上市。正文。",
            "content_class": "culture",
            "media_ids": [post_image],
        },
    )
    post_to_delete = await olga.publish(account["id"], "秋茶上市", "秋茶上市。正文。")
    held_post = await olga.publish(account["id"], "周末活动", f"{FLAGGED} {uuid.uuid4().hex}")
    assert held_post["held_for"], held_post
    application = await public_account(olga, category="enterprise")  # not reviewed yet
    forward = await alice.forward(post["id"], direct)

    await alice.report("message", direct_message["id"], "other")
    case = await case_of(reviewer, "message", direct_message["id"])
    warning = await applied(reviewer, "user", bob.id, "warning")
    appeal = await bob.request(
        "POST", "/api/v1/appeals", json={"sanction_id": warning["id"], "statement": "误会"}
    )
    suspension = await applied(reviewer, "user", sam.id, "suspend_updates", days=7)
    rescan = await finished_rescan(admin)
    group_life = await groups_to_run(gina, alice, bob, [await new_user(server, n) for n in "cd"])
    assert (await dan.raw("DELETE", "/api/v1/me")).status_code == 204
    await (await second_session(alice)).aclose()
    spare_session = (await alice.request("GET", "/api/v1/me/sessions"))["sessions"][0]
    assert not spare_session["current"]

    def owned(id_: int, *owners: str, seen_by: frozenset[str] = frozenset()) -> Owned:
        return Owned(id_, frozenset(owners), seen_by)

    objects = {
        "direct": owned(direct, USER),
        "group": owned(group, USER, GROUP_OWNER),
        "sanctioned_chat": owned(sanctioned_chat, SANCTIONED),
        "invitation_to_accept": owned(to_accept, USER, seen_by=frozenset({GROUP_OWNER})),
        "invitation_to_decline": owned(to_decline, USER, seen_by=frozenset({GROUP_OWNER})),
        "account": owned(account["id"], OPERATOR, seen_by=EVERYONE),
        "application_pending": owned(application["id"], OPERATOR, seen_by=DESK_STAFF),
        "post": owned(post["id"], OPERATOR, seen_by=EVERYONE),
        "post_to_delete": owned(post_to_delete["id"], OPERATOR, seen_by=EVERYONE),
        "held_post": owned(held_post["id"], OPERATOR),
        "direct_message": owned(direct_message["id"], USER),
        "group_message": owned(group_message["id"], USER, GROUP_OWNER),
        "sanctioned_chat_message": owned(sanctioned_chat_message["id"], SANCTIONED),
        "sent_direct_message": owned(sent_direct_message["id"], USER),
        "sent_group_message": owned(group_message["id"], GROUP_OWNER),
        "sent_sanctioned_message": owned(sent_sanctioned_message["id"], SANCTIONED),
        "forward_message": owned(forward["message"]["id"], USER),
        "sanction": owned(suspension["id"], SANCTIONED),
        "person": owned(bob.id, seen_by=EVERYONE),
        "case": owned(case["id"]),
        "appeal": owned(appeal["id"]),
        "forward": owned(forward["forward"]["id"]),
        "rescan": owned(rescan["id"]),
        "spare_session": owned(spare_session["id"], USER),
        "direct_image": owned(direct_image, USER, seen_by=DESK_STAFF),
        "group_image": owned(group_image, GROUP_OWNER, seen_by=DESK_STAFF | {USER}),
        "post_image": owned(post_image, OPERATOR, seen_by=EVERYONE),
        **{
            key: owned(id_, *owners, seen_by=seen)
            for key, (id_, owners, seen) in group_life.items()
        },
    }
    principals = {
        ANONYMOUS: None, USER: alice, OTHER_USER: mallory, GROUP_OWNER: gina, OPERATOR: olga,
        REVIEWER: reviewer, ADMIN: admin, AUDITOR: auditor, SANCTIONED: sam, DEREGISTERED: dan,
    }  # fmt: skip
    return World(objects, principals, others=[bob])


async def image_of(user: User) -> int:
    """An image the user uploaded: the id of its media object."""
    picture = io.BytesIO()
    Image.new("RGB", (40, 30), "teal").save(picture, "PNG")
    return int((await user.upload(picture.getvalue()))["id"])


async def finished_rescan(admin: User) -> dict[str, Any]:
    """A rescan, run to its end: the walk begins others, and one runs at a time."""
    begun = await admin.request(
        "POST", "/api/v1/admin/moderation/rescans", json={"since": "2026-01-01T00:00:00Z"}
    )
    for _ in range(200):
        run = await admin.request("GET", f"/api/v1/admin/moderation/rescans/{begun['id']}")
        if run["state"] != "running":
            return run
        await asyncio.sleep(0.05)
    raise AssertionError("the world's rescan did not finish")


async def groups_to_run(
    gina: User, alice: User, bob: User, askers: list[User]
) -> dict[str, tuple[int, tuple[str, ...], frozenset[str]]]:
    """gina's groups for group life: one she runs with alice and bob in it (and two users asking
    to join by its link), and one each to leave (alice), dissolve, remove bob from and hand to
    him. Each object: its id, its owners and who else sees it."""
    managed = (await group_of(gina, "管理组", bob, alice))["id"]
    link = await gina.request(
        "POST", f"/api/v1/conversations/{managed}/links", json={"needs_approval": True}
    )
    for asker in askers:
        await asker.request("POST", "/api/v1/join-links/join", json={"token": link["token"]})
    alone = {
        name: (await group_of(gina, name, *members))["id"]
        for name, members in (
            ("group_to_leave", [alice]),
            ("group_to_dissolve", [alice]),
            ("group_to_remove_from", [bob]),
            ("group_to_transfer", [bob]),
        )
    }
    ginas, alices = (GROUP_OWNER,), (USER,)
    return {
        "managed_group": (managed, ginas, frozenset({USER})),
        "managed_member": (bob.id, ginas, frozenset()),
        "managed_link": (link["id"], ginas, frozenset()),
        "request_to_approve": (askers[0].id, ginas, frozenset()),
        "request_to_decline": (askers[1].id, ginas, frozenset()),
        "group_to_leave": (alone["group_to_leave"], alices, frozenset({GROUP_OWNER})),
        "group_to_dissolve": (alone["group_to_dissolve"], ginas, frozenset({USER})),
        "group_to_remove_from": (alone["group_to_remove_from"], ginas, frozenset()),
        "removable_member": (bob.id, ginas, frozenset()),
        "group_to_transfer": (alone["group_to_transfer"], ginas, frozenset()),
        "transferee": (bob.id, ginas, frozenset()),
    }


# Calling ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    permission: Permission | None
    signed_in: bool  # takes a session
    rule: dict[str, str] = field(default_factory=dict)
    fixed: dict[str, Any] = field(default_factory=dict)  # the body fields that choose the rule

    @property
    def writes(self) -> bool:
        return self.method not in READING_METHODS


@dataclass(frozen=True)
class Answer:
    status: int
    code: str | None
    body_kind: str | None  # the `kind` of a POST /conversations body

    @property
    def allowed(self) -> bool:
        return self.status < 400

    def __str__(self) -> str:
        return f"{self.status} {self.code or ''}".strip()


def path_ids(path: str) -> list[str]:
    return re.findall(r"\{(\w+)\}", path)


def routes_of(spec: dict[str, Any]) -> Iterator[Route]:
    """Every route, once per rule for its ids; one with an id no rule covers fails here."""
    for method, path in openapi_routes(spec, ALL_METHODS):
        operation = spec["paths"][path][method.lower()]
        declared = operation.get(PERMISSION_KEY)
        permission = None if declared is None else Permission(declared)
        signed_in = bool(operation.get("security")) or declared is not None
        rules = BODY_RULES.get((method, path)) or [({}, ID_RULES.get((method, path), {}))]
        covered = {name for _, rule in rules for name in rule}
        unknown = [
            name
            for name in [*path_ids(path), *id_fields(spec, method, path)]
            if name not in covered and name not in FREE_ID_FIELDS
        ]
        assert not unknown, f"{method} {path}: the matrix does not know whose {unknown} name"
        for fixed, rule in rules:
            yield Route(method, path, permission, signed_in, rule, fixed)


def id_fields(spec: dict[str, Any], method: str, path: str) -> set[str]:
    """The id-like fields a route's body or query takes."""
    operation = spec["paths"][path][method.lower()]
    names = {p["name"] for p in operation.get("parameters", ()) if p["in"] == "query"}
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if content is not None:
        names |= set(_properties(spec, content["schema"]))
    return {name for name in names if ID_FIELD.search(name)}


def _properties(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return _properties(spec, spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]])
    found = dict(schema.get("properties", {}))
    for union in ("oneOf", "anyOf", "allOf"):
        for variant in schema.get(union, ()):
            found |= _properties(spec, variant)
    return found


BASE_FIELDS: dict[str, Any] = {
    "user_id": NO_SUCH_ID,
    "other_user_id": NO_SUCH_ID - 1,
    "subject_id": NO_SUCH_ID,
    "target_id": NO_SUCH_ID,
    "case_ids": [NO_SUCH_ID],
    "member_ids": [],
    "title": "茶话会",
    "target_type": "message",
    "subject_type": "user",
    "display_name": "Alice",
    "reason": "other",
    "statement": "误会一场",
    "content_class": "culture",
    "body": "春茶上市。正文。",
}


async def call(
    http: httpx.AsyncClient,
    spec: dict[str, Any],
    route: Route,
    user: User | None,
    ids: dict[str, Any],
) -> list[Answer]:
    """The route called once per body shape it takes, with `ids` in its path, body and query."""
    fields = {
        **BASE_FIELDS,
        "text": f"nobody says this {uuid.uuid4().hex}",
        "client_id": uuid.uuid4().hex,
        **route.fixed,
        **ids,
    }
    url = route.path.format(**{name: ids.get(name, NO_SUCH_ID) for name in path_ids(route.path)})
    params = query_parameters(spec, route.method, route.path, fields)
    for name in ids.keys() & {p["name"] for p in _query(spec, route)}:
        params[name] = ids[name]
    answers = []
    for body in request_bodies(spec, route.method, route.path, fields):
        headers = {} if user is None else {"Authorization": f"Bearer {user.token}"}
        answer = await http.request(route.method, url, json=body, params=params, headers=headers)
        code = answer.json()["error"]["code"] if answer.status_code >= 400 else None
        kind = body.get("kind") if isinstance(body, dict) else None
        answers.append(Answer(answer.status_code, code, kind))
    return answers


def _query(spec: dict[str, Any], route: Route) -> list[dict[str, Any]]:
    operation = spec["paths"][route.path][route.method.lower()]
    return [p for p in operation.get("parameters", ()) if p["in"] == "query"]


# Expectations ----------------------------------------------------------------------------------


def refusal_of(principal: str, route: Route) -> tuple[int, str] | None:
    """The refusal the role table alone gives, whatever the ids; None when it lets through."""
    if not route.signed_in:
        return None
    if principal == ANONYMOUS:
        return (401, "token_missing")
    if principal == DEREGISTERED:
        return (401, "token_revoked")
    if route.permission is None or permits(ROLE_OF[principal], route.permission):
        return None
    read_only = ROLE_OF[principal] == Role.AUDITOR and route.writes
    return (403, "read_only_role" if read_only else "role_required")


def suspended(principal: str, route: Route, answer: Answer) -> bool:
    """Whether a suspension withholds this call from the principal (docs/enforcement.md)."""
    if principal != SANCTIONED:
        return False
    if (route.method, route.path) == CREATE:
        return answer.body_kind == "group"
    return (route.method, route.path) in SUSPENDED


def judge(principal: str, route: Route, cells: list[tuple[Cell, list[Answer]]]) -> Iterator[str]:
    """What is wrong with one principal's row of a route: each line a finding."""
    where = f"{principal}: {route.method} {route.path}"
    refused = refusal_of(principal, route)
    for cell, answers in cells:
        for answer in answers:
            if answer.status >= 500:
                yield f"{where} [{cell.variant}] answered {answer}"
            elif refused is not None and (answer.status, answer.code) != refused:
                yield f"{where} [{cell.variant}] answered {answer}, expected {refused}"
            elif (
                cell.variant == "own"
                and suspended(principal, route, answer)
                and answer.code != "updates_suspended"
            ):
                yield f"{where} [own] answered {answer}, expected 403 updates_suspended"
    if refused is not None or not route.rule:
        return
    first = KINDS[next(iter(route.rule.values()))]
    missing = next(answers for cell, answers in cells if cell.variant == "missing")
    for gone in missing:
        if gone.allowed and not first.optional:
            yield f"{where} [missing] allowed: {gone}"
    for cell, answers in cells:
        for answer, gone in zip(answers, missing, strict=True):
            yield from judge_cell(
                where, cell, answer, gone, first, suspended(principal, route, answer)
            )


def judge_cell(
    where: str, cell: Cell, answer: Answer, gone: Answer, kind: Kind, suspended: bool
) -> Iterator[str]:
    if cell.variant == "own":
        if answer.status in (401, 403, 404) and not suspended:
            yield f"{where} [own] refused: {answer}"
    elif cell.variant == "missing":
        return
    elif kind.desk or (kind.public and cell.open):
        if answer.status in (401, 403, 404) and not suspended:
            yield f"{where} [{cell.variant}] refused what it may use: {answer}"
    elif kind.public and cell.seen:
        return  # an application its reviewers see: the route decides what they may do
    elif answer.allowed:
        yield f"{where} [{cell.variant}] ALLOWED another's: {answer}"
    elif not cell.seen and (answer.status, answer.code) != (gone.status, gone.code):
        yield f"{where} existence oracle: [{cell.variant}] {answer}, missing {gone}"


def cells_to_call(world: World, principal: str, route: Route) -> list[Cell]:
    """A route without ids is called once. A staff write that the role permits is called with a
    missing id only: with a real one it would decide a case or lift a sanction of the world."""
    if not route.rule:
        return [Cell("missing", {})]
    cells = world.cells(principal, route.rule)
    desk = any(KINDS[kind].desk for kind in route.rule.values())
    if desk and route.writes and refusal_of(principal, route) is None:
        return [cell for cell in cells if cell.variant == "missing"]
    return cells


# The HTTP matrix ------------------------------------------------------------------------------


async def test_every_route_by_every_principal_with_own_others_and_missing_ids(
    server: Server, world: World
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        spec = (await http.get("/openapi.json")).json()
        findings: list[str] = []
        walked: set[tuple[str, str, str]] = set()
        for route in sorted(routes_of(spec), key=lambda r: (r.path, r.method)):
            for principal, user in world.principals.items():
                if (route.method, route.path) == LEAVE and refusal_of(principal, route) is None:
                    continue  # leaving ends the account: tests/api/test_deregistration.py
                session = None
                if (route.method, route.path) == LOG_OUT and principal != DEREGISTERED:
                    session = user = user and await second_session(user)  # the world's stay
                cells = [
                    (cell, await call(http, spec, route, user, cell.ids))
                    for cell in cells_to_call(world, principal, route)
                ]
                if session is not None:
                    await session.aclose()
                findings += judge(principal, route, cells)
                walked |= {(route.method, route.path, cell.variant) for cell, _ in cells}
    assert not findings, "\n".join(findings)
    # The rows that matter most were walked, each with another's ids and missing ones.
    messages = ("POST", "/api/v1/conversations/{conversation_id}/messages")
    for variant in ("own", "other:direct", "other:sanctioned_chat", "missing"):
        assert (*messages, variant) in walked
    assert ("DELETE", "/api/v1/posts/{post_id}", "other:held_post") in walked
    assert ("POST", "/api/v1/reports", "other:direct_message") in walked


async def second_session(user: User) -> User:
    again = User(user.base_url, user_id=user.id, handle=user.handle, password=PASSWORD)
    await again.log_in(user.handle, PASSWORD)
    return again


# The WebSocket matrix -------------------------------------------------------------------------

CLOSE_UNAUTHENTICATED = 4401
# Groups an invitation of the world names: the owner's from the start, the invitee's on accepting.
INVITATIONS = ("invitation_to_accept", "invitation_to_decline")
SEND = Route("WS", "send", Permission.ACT, signed_in=True, rule={"conversation_id": "conversation"})
# Every client frame type of domain/frames.py, as each is sent; `send` takes its ids per cell.
FRAMES: dict[str, dict[str, Any]] = {
    "auth": {"type": "auth", "token": "", "since": 0},
    "send": {"type": "send", "conversation_id": NO_SUCH_ID, "text": "你好", "client_id": ""},
    "resume": {"type": "resume", "since": 0},
    "ping": {"type": "ping"},
    "typing": {"type": "typing", "conversation_id": NO_SUCH_ID},
}


async def test_every_websocket_frame_by_every_principal(server: Server, world: World) -> None:
    """No token, or a dead one, gets nothing but the refusal; an account's socket sends only into
    its own conversations (another's and a missing one refused alike), and replays and pushes
    only its own events."""
    frame_types = set(ws_frame_types())
    assert frame_types == set(FRAMES), (
        f"frames the matrix does not know: {frame_types ^ set(FRAMES)}"
    )
    findings: list[str] = []
    for principal, user in world.principals.items():
        if user is None or principal == DEREGISTERED:
            token = None if user is None else user.token
            findings += await refused_sockets(server, principal, token)
            continue
        async with connect(server.ws_url, compression=None) as socket:
            await socket.send(orjson.dumps({**FRAMES["auth"], "token": user.token}).decode())
            ready = orjson.loads(await socket.recv())
            assert ready["type"] == "ready" and ready["user_id"] == user.id, ready
            cells = world.cells(principal, SEND.rule)
            answers = await sends(socket, cells)
            findings += judge(principal, SEND, list(zip(cells, answers, strict=True)))
            findings += await typing_elsewhere(socket, principal, cells)
            findings += await own_events_only(socket, principal, world)
    assert not findings, "\n".join(findings)


def ws_frame_types() -> list[str]:
    """The `type` tags of every frame a client may send (domain/frames.py)."""
    from townhall.domain import frames

    structs = [frames.AuthFrame, *frames.ClientFrame.__args__]
    return [struct.__struct_config__.tag for struct in structs]


async def refused_sockets(server: Server, principal: str, token: str | None) -> list[str]:
    """Each frame type sent first by a principal with no session: an error frame, then the
    close, and nothing else."""
    expected = "auth_required" if token is None else "token_revoked"
    findings = []
    for frame_type, frame in FRAMES.items():
        if token is None and frame_type == "auth":
            frame = {"type": "auth"}  # no token at all
        elif token is not None:
            frame = {**FRAMES["auth"], "token": token}
        async with connect(server.ws_url, compression=None) as socket:
            await socket.send(orjson.dumps(frame).decode())
            said = orjson.loads(await socket.recv())
            with pytest.raises(ConnectionClosed):
                await socket.recv()
            if (
                said.get("error", {}).get("code") != expected
                or socket.close_code != CLOSE_UNAUTHENTICATED
            ):
                findings.append(f"{principal}: first frame {frame_type} got {said}")
    return findings


async def sends(socket: ClientConnection, cells: list[Cell]) -> list[list[Answer]]:
    """A send frame per cell; each one's answer (an ack, or an error and its code)."""
    by_client_id = {}
    for cell in cells:
        client_id = uuid.uuid4().hex
        by_client_id[client_id] = cell.variant
        frame = {**FRAMES["send"], **cell.ids, "client_id": client_id}
        await socket.send(orjson.dumps(frame).decode())
    answered: dict[str, Answer] = {}
    while len(answered) < len(by_client_id):
        frame = orjson.loads(await asyncio.wait_for(socket.recv(), 30))
        if frame.get("client_id") in by_client_id and frame["type"] in ("ack", "error"):
            code = frame["error"]["code"] if frame["type"] == "error" else None
            answered[frame["client_id"]] = Answer(403 if code else 200, code, None)
    return [[answered[client_id]] for client_id in by_client_id]


async def typing_elsewhere(
    socket: ClientConnection, principal: str, cells: list[Cell]
) -> list[str]:
    """Typing into another's conversation and into a missing one: refused alike (relayed to
    nobody). Two frames: within any principal's typing rate."""
    others = [cell for cell in cells if cell.variant.startswith("other:")][:1]
    missing = [cell for cell in cells if cell.variant == "missing"]
    for cell in [*others, *missing]:
        frame = {**FRAMES["typing"], "conversation_id": cell.ids["conversation_id"]}
        await socket.send(orjson.dumps(frame).decode())
    codes = []
    while len(codes) < len(others) + len(missing):
        frame = orjson.loads(await asyncio.wait_for(socket.recv(), 30))
        if frame["type"] == "error" and "client_id" not in frame:
            codes.append(frame["error"]["code"])
    if len(set(codes)) != 1:
        return [f"{principal}: typing elsewhere and into nothing answered {codes}"]
    return []


async def own_events_only(socket: ClientConnection, principal: str, world: World) -> list[str]:
    """A resume from the start replays, and a ping's pong follows, only the principal's own
    conversations' messages."""
    own = {
        world.objects[key].id
        for key in (*KINDS["conversation"].candidates, *INVITATIONS)
        if principal in world.objects[key].owners or principal in world.objects[key].seen_by
    }
    await socket.send(orjson.dumps(FRAMES["resume"]).decode())
    await socket.send(orjson.dumps(FRAMES["ping"]).decode())
    findings: list[str] = []
    while True:
        frame = orjson.loads(await asyncio.wait_for(socket.recv(), 30))
        if frame["type"] == "pong":
            return findings
        message = frame.get("message")
        if frame["type"] == "message" and message["conversation_id"] not in own:
            findings.append(f"{principal}: replayed {message['conversation_id']}'s message")
