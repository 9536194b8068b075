"""The tables. Times are integer milliseconds since the epoch (UTC) for cheap hot-path writes."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
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
)

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
    Column("id", Integer, primary_key=True),
    Column("handle", String(32), nullable=False, unique=True),
    Column("display_name", String(1024), nullable=False),
    Column("password_hash", String(256), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("role", String(16), nullable=False, server_default="user"),
)

# The real identity, sealed with AES-GCM; `blind_index` finds duplicates without decrypting.
identities = Table(
    "identities",
    metadata,
    Column("account_id", Integer, ForeignKey("accounts.id"), primary_key=True),
    Column("key_id", String(64), nullable=False),
    Column("sealed", LargeBinary, nullable=False),
    Column("blind_index", String(64), nullable=False, index=True),
    Column("created_at", BigInteger, nullable=False),
    Column("status", String(16), nullable=False, server_default="pending_review", index=True),
    Column("status_reason", Text, nullable=True),
    Column("claimed_by", Integer, ForeignKey("accounts.id"), nullable=True),
    Column("claimed_at", BigInteger, nullable=True),
    Column("decided_by", Integer, ForeignKey("accounts.id"), nullable=True),
    Column("decided_at", BigInteger, nullable=True),
    Column("phone_verified_at", BigInteger, nullable=True),
    Column("purge_after", BigInteger, nullable=True, index=True),
)

# Every human look at a plaintext identity: who, whose, when and why (the audit log chains it).
identity_access = Table(
    "identity_access",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("actor_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("subject_id", Integer, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("reason", Text, nullable=False),
    Column("at", BigInteger, nullable=False),
)

# Identities that may not register again, by blind index only.
blacklist = Table(
    "blacklist",
    metadata,
    Column("blind_index", String(64), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("added_by", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("added_at", BigInteger, nullable=False),
)

# The pending phone-check code of an account, stored as a keyed hash, with its rate-limit window.
phone_codes = Table(
    "phone_codes",
    metadata,
    Column("account_id", Integer, ForeignKey("accounts.id"), primary_key=True),
    Column("code_hash", String(64), nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("window_started_at", BigInteger, nullable=False),
    Column("sent_in_window", Integer, nullable=False),
)

agreement_acceptances = Table(
    "agreement_acceptances",
    metadata,
    Column("account_id", Integer, ForeignKey("accounts.id"), primary_key=True),
    Column("version", String(64), primary_key=True),
    Column("accepted_at", BigInteger, nullable=False),
    Column("ip", String(64), nullable=True),
)

# Only the SHA-256 of a token is stored: a stolen database yields no usable session.
sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("title", String(1024), nullable=True),
    Column("direct_key", String(64), nullable=True, unique=True),
    Column("created_by", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

members = Table(
    "members",
    metadata,
    Column("conversation_id", Integer, ForeignKey("conversations.id"), primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("joined_at", BigInteger, nullable=False),
    Index("ix_members_account_id", "account_id"),
    sqlite_with_rowid=False,
)

# `id` and `position` are allocated by the message log (see message_log.py), not by the database.
messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("conversation_id", Integer, ForeignKey("conversations.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("sender_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("client_id", String(256), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("position", BigInteger, nullable=False),
    UniqueConstraint("conversation_id", "seq"),
    UniqueConstraint("sender_id", "client_id"),
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
    Column("account_id", Integer, primary_key=True),
    Column("position", BigInteger, primary_key=True),
    Column("message_id", Integer, nullable=True),
    sqlite_with_rowid=False,
)
