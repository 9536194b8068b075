"""The tables. Times are integer milliseconds since the epoch (UTC) for cheap hot-path writes."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

# Every integer is 64-bit, as SQLite's are: ids, positions and counters outgrow 32 bits on a big
# installation. On SQLite the type stays INTEGER, which an INTEGER PRIMARY KEY must be spelled as
# to be the rowid; PostgreSQL's INTEGER is 32-bit, so there it is BIGINT (migration 0014).
Int64 = BigInteger().with_variant(Integer(), "sqlite")


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Int64, primary_key=True),
    Column("handle", String(32), nullable=False, unique=True),
    Column("display_name", String(1024), nullable=False),
    Column("password_hash", String(256), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("role", String(16), nullable=False, server_default="user"),
    Column("bio", Text, nullable=False, server_default=""),
)

# The real identity, sealed with AES-GCM; `blind_index` finds duplicates without decrypting.
identities = Table(
    "identities",
    metadata,
    Column("account_id", Int64, ForeignKey("accounts.id"), primary_key=True),
    Column("key_id", String(64), nullable=False),
    Column("sealed", LargeBinary, nullable=False),
    Column("blind_index", String(64), nullable=False, index=True),
    Column("created_at", BigInteger, nullable=False),
    Column("status", String(32), nullable=False, server_default="pending_review", index=True),
    Column("status_reason", Text, nullable=True),
    Column("claimed_by", Int64, ForeignKey("accounts.id"), nullable=True),
    Column("claimed_at", BigInteger, nullable=True),
    Column("decided_by", Int64, ForeignKey("accounts.id"), nullable=True),
    Column("decided_at", BigInteger, nullable=True),
    Column("phone_verified_at", BigInteger, nullable=True),
    Column("purge_after", BigInteger, nullable=True, index=True),
    # The identity-verification provider's definitive answer (match, no_match) and when; NULL
    # while none has come (no provider configured, or it did not answer).
    Column("provider_result", String(16), nullable=True),
    Column("provider_checked_at", BigInteger, nullable=True),
    # A keyed hash of the phone (E.164): the same person under another document shows by it.
    Column("phone_index", String(64), nullable=True, index=True),
    Index("ix_identities_created_at", "created_at"),  # the queues' load by period
)

# Identities established to be one person (the same phone, or a reviewer's finding): every
# blind index of a person points at one `person_key`, and sanctions reach them all.
identity_links = Table(
    "identity_links",
    metadata,
    Column("blind_index", String(64), primary_key=True),
    Column("person_key", String(64), nullable=False, index=True),
    Column("source", String(16), nullable=False),  # same_phone | reviewer
    Column("linked_by", Int64, ForeignKey("accounts.id"), nullable=True),  # None: automatic
    Column("linked_at", BigInteger, nullable=False),
)

# Every human look at a plaintext identity: who, whose, when and why (the audit log chains it).
identity_access = Table(
    "identity_access",
    metadata,
    Column("id", Int64, primary_key=True),
    Column("actor_id", Int64, ForeignKey("accounts.id"), nullable=False),
    Column("subject_id", Int64, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("reason", Text, nullable=False),
    Column("at", BigInteger, nullable=False),
    # What the look was for: `case:<id>`, `appeal:<id>` or `request:<the authority's reference>`
    # (none on looks recorded before references were asked for).
    Column("reference", String(80), nullable=True),
    Index("ix_identity_access_actor_id_at", "actor_id", "at"),
)

# Identities that may not register again, by blind index only.
blacklist = Table(
    "blacklist",
    metadata,
    Column("blind_index", String(64), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("added_by", Int64, ForeignKey("accounts.id"), nullable=False),
    Column("added_at", BigInteger, nullable=False),
)

# The pending phone-check code of an account, stored as a keyed hash, with its rate-limit window.
phone_codes = Table(
    "phone_codes",
    metadata,
    Column("account_id", Int64, ForeignKey("accounts.id"), primary_key=True),
    Column("code_hash", String(64), nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("attempts", Int64, nullable=False),
    Column("window_started_at", BigInteger, nullable=False),
    Column("sent_in_window", Int64, nullable=False),
)

agreement_acceptances = Table(
    "agreement_acceptances",
    metadata,
    Column("account_id", Int64, ForeignKey("accounts.id"), primary_key=True),
    Column("version", String(64), primary_key=True),
    Column("accepted_at", BigInteger, nullable=False),
    Column("ip", String(64), nullable=True),
)

# Only the SHA-256 of a token is stored: a stolen database yields no usable session.
sessions = Table(
    "sessions",
    metadata,
    # The id its owner names it by (listing their devices, ending one); the token's hash never
    # leaves the server.
    Column("id", Int64, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("account_id", Int64, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
    Column("last_seen_at", BigInteger, nullable=False),
    Column("device", String(200), nullable=True),  # domain/accounts.py device_label
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", Int64, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("title", String(1024), nullable=True),
    Column("description", Text, nullable=True),  # a group's
    Column("direct_key", String(64), nullable=True, unique=True),
    Column("created_by", Int64, ForeignKey("accounts.id"), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    # A group's: an avatar reference (null: clients draw the default), the announcement, 1 when
    # only the owner and admins may send, 0 when only they may invite, when it was dissolved.
    Column("avatar", String(256), nullable=True),
    Column("announcement", Text, nullable=True),
    Column("mute_all", Int64, nullable=False, server_default="0"),
    Column("members_invite", Int64, nullable=False, server_default="1"),
    Column("dissolved_at", BigInteger, nullable=True),
    Index("ix_conversations_created_by_created_at", "created_by", "created_at"),
)

# Nobody is put in a group: each is invited, and joins by accepting (groups 2017 art. 5).
invitations = Table(
    "invitations",
    metadata,
    Column("conversation_id", Int64, ForeignKey("conversations.id"), primary_key=True),
    Column("invitee_id", Int64, ForeignKey("accounts.id"), primary_key=True),
    Column("inviter_id", Int64, ForeignKey("accounts.id"), nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("answered_at", BigInteger, nullable=True),
    Index("ix_invitations_invitee_id_state", "invitee_id", "state"),
)

members = Table(
    "members",
    metadata,
    Column("conversation_id", Int64, ForeignKey("conversations.id"), primary_key=True),
    Column("account_id", Int64, ForeignKey("accounts.id"), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("joined_at", BigInteger, nullable=False),
    Column("muted", Int64, nullable=False, server_default="0"),  # 1: muted by the owner or an admin
    Index("ix_members_account_id", "account_id"),
    sqlite_with_rowid=False,
)

# A group's join links (the payload of a QR code): a secret token, until it expires or is revoked.
join_links = Table(
    "join_links",
    metadata,
    Column("id", Int64, primary_key=True),
    Column("conversation_id", Int64, ForeignKey("conversations.id"), nullable=False, index=True),
    Column("token", String(64), nullable=False, unique=True),
    Column("created_by", Int64, ForeignKey("accounts.id"), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("needs_approval", Int64, nullable=False, server_default="0"),
    Column("revoked_at", BigInteger, nullable=True),
)

# A request to join by a link that needs an admin's approval; one per group and user.
join_requests = Table(
    "join_requests",
    metadata,
    Column("conversation_id", Int64, ForeignKey("conversations.id"), primary_key=True),
    Column("account_id", Int64, ForeignKey("accounts.id"), primary_key=True),
    Column("link_id", Int64, ForeignKey("join_links.id"), nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("answered_by", Int64, ForeignKey("accounts.id"), nullable=True),
    Column("answered_at", BigInteger, nullable=True),
)

# Who joined a group when, invited by whom or by which link, who removed whom, who left, role
# and mute changes: kept for reviewers and the group owner's responsibility (groups 2017).
member_history = Table(
    "member_history",
    metadata,
    Column("id", Int64, primary_key=True),
    Column("conversation_id", Int64, ForeignKey("conversations.id"), nullable=False),
    Column("account_id", Int64, ForeignKey("accounts.id"), nullable=False),
    Column("change", String(16), nullable=False),
    Column("actor_id", Int64, ForeignKey("accounts.id"), nullable=True),
    Column("link_id", Int64, ForeignKey("join_links.id"), nullable=True),
    Column("at", BigInteger, nullable=False),
    Index("ix_member_history_conversation_id_id", "conversation_id", "id"),
)

# `id` and `position` are allocated by the message log (see message_log.py), not by the database.
messages = Table(
    "messages",
    metadata,
    Column("id", Int64, primary_key=True, autoincrement=False),
    Column("conversation_id", Int64, ForeignKey("conversations.id"), nullable=False),
    Column("seq", Int64, nullable=False),
    Column("sender_id", Int64, ForeignKey("accounts.id"), nullable=False),
    Column("client_id", String(256), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("position", BigInteger, nullable=False),
    # What the message carries besides text, as JSON: e.g. a forwarded public-account post.
    Column("attachment", Text, nullable=True),
    # None: delivered; "held": only its sender sees it until a reviewer approves; "removed":
    # its text and attachment are gone and it reads as a tombstone.
    Column("moderation", String(8), nullable=True),
    # The message of the same conversation this one replies to (quotes).
    Column("reply_to", Int64, nullable=True),
    # Whom it mentions, as JSON: {"user_ids": [...], "everyone": bool}.
    Column("mentions", Text, nullable=True),
    # Recalled by its sender: members no longer see its text; the stored copy stays for review
    # and retention.
    Column("recalled_at", BigInteger, nullable=True),
    # The media it carries as clients see them, as JSON (a list of media objects); who may
    # read them is asked of `message_media`.
    Column("media", Text, nullable=True),
    UniqueConstraint("conversation_id", "seq"),
    UniqueConstraint("sender_id", "client_id"),
)

# How far each member has read each conversation (the seq read up to); it never goes back.
read_cursors = Table(
    "read_cursors",
    metadata,
    Column("conversation_id", Int64, ForeignKey("conversations.id"), primary_key=True),
    Column("account_id", Int64, ForeignKey("accounts.id"), primary_key=True),
    Column("seq", Int64, nullable=False),
    Column("read_at", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

# Events other than messages (a conversation created, ...), stored once as their JSON object.
events = Table(
    "events",
    metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("type", String(32), nullable=False),
    Column("payload", Text, nullable=False),
)

# Fan-out on write: one row per recipient per event; the position is shared by all recipients.
inbox = Table(
    "inbox",
    metadata,
    Column("account_id", Int64, primary_key=True),
    Column("position", BigInteger, primary_key=True),
    Column("message_id", Int64, nullable=True),
    sqlite_with_rowid=False,
)

# A public account: applied for by a verified user, reviewed by staff before it may publish.
public_accounts = Table(
    "public_accounts",
    metadata,
    Column("id", Int64, primary_key=True),
    Column("name", String(256), nullable=False),
    Column("name_key", String(256), nullable=False, index=True),  # normalized: names stay unique
    Column("category", String(32), nullable=False),
    Column("account_type", String(16), nullable=False),
    Column("description", Text, nullable=False),
    Column("operator_id", Int64, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("entity_kind", String(16), nullable=False),
    Column("entity_name", String(256), nullable=True),
    Column("registration_number_type", String(32), nullable=True),  # a register the pack names
    Column("registration_number", String(64), nullable=True),
    Column("news_licence", String(64), nullable=True),
    Column("status", String(16), nullable=False, index=True),
    Column("status_reason", Text, nullable=True),
    Column("news_entitlement", String(16), nullable=False),
    Column("reviewed_by", Int64, ForeignKey("accounts.id"), nullable=True),
    Column("reviewed_at", BigInteger, nullable=True),
    Column("approved_at", BigInteger, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("subscriber_count", Int64, nullable=False, server_default="0"),
    Index("ix_public_accounts_created_at", "created_at"),  # the queues' load by period
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("subscriber_id", Int64, ForeignKey("accounts.id"), primary_key=True),
    Column("public_account_id", Int64, ForeignKey("public_accounts.id"), primary_key=True),
    Column("created_at", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

# Posts are fanned out on read: a subscriber's timeline merges the accounts it follows.
posts = Table(
    "posts",
    metadata,
    Column("id", Int64, primary_key=True),
    Column("public_account_id", Int64, ForeignKey("public_accounts.id"), nullable=False),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("content_class", String(32), nullable=False),
    Column("source_post_id", Int64, ForeignKey("posts.id"), nullable=True, index=True),
    Column("root_post_id", Int64, ForeignKey("posts.id"), nullable=True),  # the chain's original
    Column("status", String(16), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("deleted_at", BigInteger, nullable=True),
    Column("views", Int64, nullable=False, server_default="0"),
    Column("forwards", Int64, nullable=False, server_default="0"),
    Column("forward_depth", Int64, nullable=False, server_default="0"),
    # Distinct users who forwarded it: what the forward threshold counts (`forwards` is raw).
    Column("forwarders", Int64, nullable=False, server_default="0"),
    # The media it carries as readers see them, as JSON; who may read them: `post_media`.
    Column("media", Text, nullable=True),
    # Where it stands in timelines, taken each time it is published (at once, approved or
    # restored; None until then): the timeline's `since` counts these, not ids, so a post held
    # and approved after newer ones is still new to a reader who polls (store/posts.py).
    Column("timeline_position", Int64, nullable=True),
    Index("ix_posts_public_account_id_created_at", "public_account_id", "created_at"),
    Index("ix_posts_public_account_id_id", "public_account_id", "id"),
    Index("ix_posts_timeline_position", "timeline_position", unique=True),
    Index("ix_posts_public_account_id_timeline_position", "public_account_id", "timeline_position"),
)

# One row per viewer of a post: a unique view is counted once per user.
post_views = Table(
    "post_views",
    metadata,
    Column("post_id", Int64, ForeignKey("posts.id"), primary_key=True),
    Column("viewer_id", Int64, primary_key=True),
    sqlite_with_rowid=False,
)

# A post forwarded into a conversation; `parent_id` is the forward it was forwarded from.
forwards = Table(
    "forwards",
    metadata,
    Column("id", Int64, primary_key=True),
    Column("post_id", Int64, ForeignKey("posts.id"), nullable=False),
    Column("forwarder_id", Int64, ForeignKey("accounts.id"), nullable=False),
    Column("conversation_id", Int64, ForeignKey("conversations.id"), nullable=False),
    Column("message_id", Int64, ForeignKey("messages.id"), nullable=False, unique=True),
    Column("parent_id", Int64, ForeignKey("forwards.id"), nullable=True),
    Column("depth", Int64, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    # Whether a forwarder is new to the post, and the forwards of a post.
    Index("ix_forwards_post_id_forwarder_id", "post_id", "forwarder_id"),
)

# Per public account and UTC day: summed over the pack's window for rolling per-author totals.
reach_daily = Table(
    "reach_daily",
    metadata,
    Column("public_account_id", Int64, ForeignKey("public_accounts.id"), primary_key=True),
    Column("day", Int64, primary_key=True),
    Column("views", Int64, nullable=False),
    Column("forwards", Int64, nullable=False),
    # Forwarders new to the post they forwarded that day: the forwards the thresholds count.
    Column("forwarders", Int64, nullable=False, server_default="0"),
    sqlite_with_rowid=False,
)

# What the post (or, for an author's totals, the author's most reached posts) said when it
# crossed a threshold, kept whatever its author does later; the audit log holds its SHA-256.
# `post_id` is the post whose reach crossed it.
evidence_snapshots = Table(
    "evidence_snapshots",
    metadata,
    Column("id", Int64, primary_key=True),
    Column("post_id", Int64, ForeignKey("posts.id"), nullable=False, index=True),
    Column("content", Text, nullable=False),  # as JSON
    Column("sha256", String(64), nullable=False),
    Column("captured_at", BigInteger, nullable=False),
)

# A post, or an author's rolling totals (`post_id` None), crossed a reach threshold; each raises
# a review case. `public_account_id` is the account whose reach crossed it; `author_id` its
# operator; `audit_seq` the audit-log row that records it.
reach_escalations = Table(
    "reach_escalations",
    metadata,
    Column("id", Int64, primary_key=True),
    Column("post_id", Int64, ForeignKey("posts.id"), nullable=True),
    Column("public_account_id", Int64, ForeignKey("public_accounts.id"), nullable=False),
    Column("measure", String(16), nullable=False),
    Column("threshold", Int64, nullable=False),
    Column("count", Int64, nullable=False),
    Column("snapshot_id", Int64, ForeignKey("evidence_snapshots.id"), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("author_id", Int64, ForeignKey("accounts.id"), nullable=False),
    Column("audit_seq", Int64, nullable=True),
    UniqueConstraint("post_id", "measure"),
    Index("ix_reach_escalations_author_id_measure", "author_id", "measure"),
)

# The operators' own lexicon terms, on top of the pack's; `kind` is "term" or "allow".
lexicon_entries = Table(
    "lexicon_entries",
    metadata,
    Column("id", Int64, primary_key=True),
    Column("kind", String(8), nullable=False),
    Column("text", String(256), nullable=False),
    Column("category", String(32), nullable=True),
    Column("severity", String(16), nullable=True),
    Column("added_by", Int64, ForeignKey("accounts.id"), nullable=True),  # None: the CLI
    Column("added_at", BigInteger, nullable=False),
    UniqueConstraint("kind", "text"),
)

# The statement of reasons of every decision other than allow: what, where, why, automated or not.
moderation_statements = Table(
    "moderation_statements",
    metadata,
    Column("id", Int64, primary_key=True),
    Column("surface", String(16), nullable=False),
    Column("decision", String(8), nullable=False),
    # None: refused before there was an account (a display name at registration).
    Column("author_id", Int64, ForeignKey("accounts.id"), nullable=True, index=True),
    Column("subject_type", String(32), nullable=False),
    Column("subject_id", Int64, nullable=True),  # None when blocked: nothing was stored
    Column("reasons", Text, nullable=False),  # JSON list of {category, severity, term, excerpt}
    Column("automated", Int64, nullable=False),
    Column("created_at", BigInteger, nullable=False, index=True),
    # A review case shows the statements about its target.
    Index("ix_moderation_statements_subject_type_subject_id", "subject_type", "subject_id"),
)
# One review case per reported or flagged target, whatever brought it: holds, flags, reports and
# reach escalations all raise the same case. `content` is what the target said when the case
# opened (JSON), kept for the reviewer and for training classifiers whatever happens to it.
review_cases = Table(
    "review_cases",
    metadata,
    Column("id", Int64, primary_key=True),
    Column("target_type", String(16), nullable=False),
    Column("target_id", Int64, nullable=False),
    Column("author_id", Int64, ForeignKey("accounts.id"), nullable=True, index=True),
    Column("content", Text, nullable=False),
    Column("sources", String(64), nullable=False),  # comma-separated: hold, flag, report, ...
    Column("categories", String(256), nullable=False),  # comma-separated, sorted
    Column("severity", String(16), nullable=True),
    Column("report_count", Int64, nullable=False, server_default="0"),
    Column("views", Int64, nullable=False, server_default="0"),
    Column("forwards", Int64, nullable=False, server_default="0"),
    Column("priority", Int64, nullable=False),
    Column("state", String(16), nullable=False),
    Column("opened_at", BigInteger, nullable=False),
    Column("due_at", BigInteger, nullable=False),
    Column("claimed_by", Int64, ForeignKey("accounts.id"), nullable=True),
    Column("claimed_at", BigInteger, nullable=True),
    Column("decision", String(16), nullable=True),
    Column("decided_by", Int64, ForeignKey("accounts.id"), nullable=True),
    Column("decided_at", BigInteger, nullable=True),
    Column("reason", Text, nullable=True),
    UniqueConstraint("target_type", "target_id"),
    Index("ix_review_cases_state_priority", "state", "priority"),
    Index("ix_review_cases_opened_at", "opened_at"),  # the figures by period
)
# Each user's report, deduplicated into its target's case; `outcome` is what the reporter is told.
reports = Table(
    "reports",
    metadata,
    Column("id", Int64, primary_key=True),
    Column("case_id", Int64, ForeignKey("review_cases.id"), nullable=False, index=True),
    Column("reporter_id", Int64, ForeignKey("accounts.id"), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("detail", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("outcome", String(16), nullable=True),
    Column("decided_at", BigInteger, nullable=True),
    UniqueConstraint("reporter_id", "case_id"),
    Index("ix_reports_reporter_id_created_at", "reporter_id", "created_at"),
)
# SHA-256 of the normalized text of removed content: the same text is blocked everywhere; and
# its near-duplicate sketch (domain/near_duplicates.py: MinHash and chunk hashes, not the text),
# so that near copies are too; None for texts banked before sketches were kept.
hash_bank = Table(
    "hash_bank",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("category", String(32), nullable=False),
    Column("sketch", LargeBinary, nullable=True),
    Column("case_id", Int64, ForeignKey("review_cases.id"), nullable=True),
    Column("added_at", BigInteger, nullable=False),
    Index("ix_hash_bank_added_at", "added_at"),  # the console lists the newest first
)
# Every staff action, in order, each row chained to the one before by its hash (domain/audit.py):
# an edited, deleted, inserted or reordered row breaks the chain from there on.
audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Int64, primary_key=True, autoincrement=False),
    Column("at", BigInteger, nullable=False),
    Column("actor_id", Int64, nullable=True),  # None: an operator at the command line
    Column("actor_role", String(16), nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject_type", String(32), nullable=True),
    Column("subject_id", Int64, nullable=True),
    Column("reason", Text, nullable=True),
    Column("details", Text, nullable=False),  # canonical JSON object
    Column("chain_hash", String(64), nullable=False),
    # Set when retention purges the row's content: the leaf hash keeps the chain and the
    # checkpoints that cover the row verifiable without it.
    Column("leaf_hash", String(64), nullable=True),
    # The log read by action, by actor or by subject (the console's filters), in seq order.
    Index("ix_audit_log_action_seq", "action", "seq"),
    Index("ix_audit_log_actor_id_seq", "actor_id", "seq"),
    Index("ix_audit_log_subject_type_subject_id_seq", "subject_type", "subject_id", "seq"),
)
# Sanctions on users, public accounts and groups (domain/enforcement.py). A row is never deleted:
# its state moves from active to expired, lifted or reversed, and `points` is its strike.
sanctions = Table(
    "sanctions",
    metadata,
    Column("id", Int64, primary_key=True),
    Column("subject_type", String(16), nullable=False),
    Column("subject_id", Int64, nullable=False),
    # A user's sanction follows the person: the blind index of the identity it was applied to.
    Column("person_key", String(64), nullable=True, index=True),
    Column("kind", String(24), nullable=False),
    Column("member_id", Int64, ForeignKey("accounts.id"), nullable=True),  # remove_rights
    # One case gives at most one strike.
    Column("case_id", Int64, ForeignKey("review_cases.id"), nullable=True, unique=True),
    Column("category", String(32), nullable=True),
    Column("severity", String(16), nullable=True),
    Column("points", Int64, nullable=False),
    Column("ground", Text, nullable=False),
    Column("reason", Text, nullable=False),  # the facts, as the statement of reasons gives them
    Column("automated", Int64, nullable=False, server_default="0"),
    Column("applied_by", Int64, ForeignKey("accounts.id"), nullable=False),
    Column("starts_at", BigInteger, nullable=False),
    Column("ends_at", BigInteger, nullable=True),
    Column("state", String(16), nullable=False),
    Column("ended_at", BigInteger, nullable=True),
    Column("ended_by", Int64, ForeignKey("accounts.id"), nullable=True),
    Column("end_reason", Text, nullable=True),
    Column("undo", Text, nullable=True),  # JSON: what lifting it restores (a member's role)
    Index("ix_sanctions_subject", "subject_type", "subject_id"),
    Index("ix_sanctions_state_ends_at", "state", "ends_at"),
)
# A subject's appeal of a sanction or of a case's removal, decided by a different reviewer.
appeals = Table(
    "appeals",
    metadata,
    Column("id", Int64, primary_key=True),
    Column("sanction_id", Int64, ForeignKey("sanctions.id"), nullable=True, unique=True),
    Column("case_id", Int64, ForeignKey("review_cases.id"), nullable=True, unique=True),
    Column("appellant_id", Int64, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("statement", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("state", String(16), nullable=False, index=True),
    Column("decided_by", Int64, ForeignKey("accounts.id"), nullable=True),
    Column("decided_at", BigInteger, nullable=True),
    Column("reason", Text, nullable=True),
    Index("ix_appeals_created_at", "created_at"),  # the queues' load by period
)
# A correction owed to everyone a false item reached (a post or message a reviewer removed or
# marked false in a correction category): the notice as the readers get it, committed with the
# decision; `done_at` is set once every reader and forward recipient has it in their stream.
corrections = Table(
    "corrections",
    metadata,
    Column("id", Int64, primary_key=True),
    Column("case_id", Int64, ForeignKey("review_cases.id"), nullable=False, index=True),
    Column("target_type", String(16), nullable=False),
    Column("target_id", Int64, nullable=False),
    Column("author_id", Int64, ForeignKey("accounts.id"), nullable=True),  # told otherwise
    Column("notice", Text, nullable=False),  # the correction object of the event, as JSON
    Column("created_at", BigInteger, nullable=False),
    Column("noticed", Int64, nullable=False, server_default="0"),
    Column("done_at", BigInteger, nullable=True, index=True),
)
# Who was told that an item is false: once per item and user, whatever decides it again.
correction_notices = Table(
    "correction_notices",
    metadata,
    Column("target_type", String(16), primary_key=True),
    Column("target_id", Int64, primary_key=True),
    Column("account_id", Int64, primary_key=True),
    sqlite_with_rowid=False,
)
# One row per server host: `/readyz` proves the database takes writes by updating its own.
readiness_probes = Table(
    "readiness_probes",
    metadata,
    Column("node", String(255), primary_key=True),
    Column("probed_at", BigInteger, nullable=False),
)


# One user's side of their tie to another: friends (both sides carry `friend_since`, written
# together), the remark they give them, whether they block them. The blocked person's side
# says nothing of it.
contacts = Table(
    "contacts",
    metadata,
    Column("owner_id", Int64, ForeignKey("accounts.id"), primary_key=True),
    Column("contact_id", Int64, ForeignKey("accounts.id"), primary_key=True),
    Column("friend_since", BigInteger, nullable=True),
    Column("remark", String(1024), nullable=True),
    Column("blocked_at", BigInteger, nullable=True),
    Column("updated_at", BigInteger, nullable=False),
    # Others' ties to an account: found when it deregisters, without a scan of every tie.
    Index("ix_contacts_contact_id", "contact_id"),
)

# A user's contact privacy settings; no row: every one off.
contact_settings = Table(
    "contact_settings",
    metadata,
    Column("account_id", Int64, ForeignKey("accounts.id"), primary_key=True),
    # Others may find the account by its phone number only when it is on.
    Column("findable_by_phone", Boolean, nullable=False, server_default=false()),
)

# A friend request and the greetings it carried while open (pending or ignored).
friend_requests = Table(
    "friend_requests",
    metadata,
    Column("requester_id", Int64, ForeignKey("accounts.id"), primary_key=True),
    Column("addressee_id", Int64, ForeignKey("accounts.id"), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("greeting", Text, nullable=False),  # the latest
    Column("greetings", Int64, nullable=False),  # sent since it was opened
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index("ix_friend_requests_addressee_id_state", "addressee_id", "state"),
)

# A re-check of published posts, from the console or the command line: its progress, written as
# it goes, so any process can show it; a heartbeat that stops says the process running it died.
rescans = Table(
    "rescans",
    metadata,
    Column("id", Int64, primary_key=True, autoincrement=True),
    Column("requested_by", Int64, ForeignKey("accounts.id"), nullable=True),  # None: the CLI
    Column("since_at", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),
    Column("total", Int64, nullable=False),  # posts published since, when it began
    Column("scanned", Int64, nullable=False),
    Column("queued", Int64, nullable=False),
    Column("decisions", Text, nullable=False),  # JSON: how many of each decision so far
    Column("started_at", BigInteger, nullable=False),
    Column("heartbeat_at", BigInteger, nullable=False),
    Column("finished_at", BigInteger, nullable=True),
)

# Each training of a classifier and what its held-out decisions measured (JSON, no texts).
classifier_trainings = Table(
    "classifier_trainings",
    metadata,
    Column("id", Int64, primary_key=True, autoincrement=True),
    Column("classifier", String(64), nullable=False),
    Column("trained_at", BigInteger, nullable=False),
    Column("report", Text, nullable=False),
)

# An uploaded image or file (domain/media.py). Its bytes are in the media store under their
# SHA-256 (the same bytes are stored once, whoever uploads them); each upload is a row of its
# own, readable by its uploader and by whoever may read a message or post that carries it.
# `removed_at`: a reviewer removed content that carried it (`removed_by_case`), and from then on
# only staff read it, wherever it was forwarded.
media = Table(
    "media",
    metadata,
    Column("id", Int64, primary_key=True),
    Column("sha256", String(64), nullable=False, index=True),
    Column("uploader_id", Int64, ForeignKey("accounts.id"), nullable=False),
    Column("kind", String(8), nullable=False),  # image | file
    Column("content_type", String(64), nullable=False),
    Column("size", Int64, nullable=False),  # of the stored bytes
    Column("width", Int64, nullable=True),  # an image's, as stored (its EXIF orientation applied)
    Column("height", Int64, nullable=True),
    Column("pdq", String(64), nullable=True),  # an image's PDQ hash, 64 hex digits
    Column("pdq_quality", Int64, nullable=True),  # 0-100: below ~50 the hash says little
    Column("thumbnail_sha256", String(64), nullable=True),  # an image's
    Column("filename", String(1024), nullable=True),  # a file's, as domain/media.py keeps it
    Column("created_at", BigInteger, nullable=False),
    Column("removed_at", BigInteger, nullable=True),
    Column("removed_by_case", Int64, ForeignKey("review_cases.id"), nullable=True, index=True),
    Index("ix_media_uploader_id_created_at", "uploader_id", "created_at"),
)

# The media a message carries, in order: who may read a media object is a join from here.
message_media = Table(
    "message_media",
    metadata,
    Column("message_id", Int64, ForeignKey("messages.id"), primary_key=True),
    Column("position", Int64, primary_key=True),
    Column("media_id", Int64, ForeignKey("media.id"), nullable=False, index=True),
    sqlite_with_rowid=False,
)

# The media a post carries, in order.
post_media = Table(
    "post_media",
    metadata,
    Column("post_id", Int64, ForeignKey("posts.id"), primary_key=True),
    Column("position", Int64, primary_key=True),
    Column("media_id", Int64, ForeignKey("media.id"), nullable=False, index=True),
    sqlite_with_rowid=False,
)

# The image hash bank: PDQ hashes (64 hex digits, as hash lists write them) of images a reviewer
# removed and of the industry lists an operator imported, each with the pack's category it maps
# to and its list's opinion of it (domain/hash_lists.py). An image attached later within the
# pack's distance of one is its copy (services/image_bank.py).
image_hash_bank = Table(
    "image_hash_bank",
    metadata,
    Column("pdq", String(64), primary_key=True),
    Column("category", String(32), nullable=False),
    # POSITIVE_CLASS, or INVESTIGATION_SEED / DISPUTED: held rather than blocked
    Column("opinion", String(24), nullable=False),
    Column("source", String(8), nullable=False),  # review | import
    Column("list_name", String(128), nullable=True),  # an import's list; None: a review's
    Column("case_id", Int64, ForeignKey("review_cases.id"), nullable=True, index=True),
    Column("added_at", BigInteger, nullable=False),
    Index("ix_image_hash_bank_added_at", "added_at"),  # the console lists the newest first
)
