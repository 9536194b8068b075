"""The repositories' records mirror their tables: a column added by a migration and missing from
its record fails here, not on the first query that reads it in production."""

from __future__ import annotations

from dataclasses import fields

import pytest
from sqlalchemy import Table

from townhall.store import schema
from townhall.store.accounts import StoredAccount
from townhall.store.audit import StoredAuditEntry
from townhall.store.conversations import StoredConversation, StoredInvitation
from townhall.store.corrections import StoredCorrection
from townhall.store.identities import IdentityAccess, PhoneCode, StoredIdentity
from townhall.store.moderation import LexiconEntry, StoredStatement
from townhall.store.persons import IdentityLink
from townhall.store.posts import StoredPost
from townhall.store.public_accounts import StoredPublicAccount
from townhall.store.reach import EvidenceSnapshot, StoredEscalation, StoredForward
from townhall.store.review import StoredCase, StoredReport
from townhall.store.sanctions import StoredAppeal, StoredSanction
from townhall.store.sessions import StoredSession

pytestmark = pytest.mark.database_free  # the PostgreSQL run leaves it out (Makefile)

WHOLE_ROWS: list[tuple[type, Table]] = [
    (StoredAccount, schema.accounts),
    (StoredAuditEntry, schema.audit_log),
    (StoredConversation, schema.conversations),
    (StoredInvitation, schema.invitations),
    (StoredCorrection, schema.corrections),
    (StoredIdentity, schema.identities),
    (IdentityAccess, schema.identity_access),
    (PhoneCode, schema.phone_codes),
    (LexiconEntry, schema.lexicon_entries),
    (StoredStatement, schema.moderation_statements),
    (IdentityLink, schema.identity_links),
    (StoredPost, schema.posts),
    (StoredPublicAccount, schema.public_accounts),
    (StoredForward, schema.forwards),
    (EvidenceSnapshot, schema.evidence_snapshots),
    (StoredEscalation, schema.reach_escalations),
    (StoredCase, schema.review_cases),
    (StoredReport, schema.reports),
    (StoredSanction, schema.sanctions),
    (StoredAppeal, schema.appeals),
    (StoredSession, schema.sessions),
]


@pytest.mark.parametrize(
    ("record", "table"), WHOLE_ROWS, ids=[table.name for _, table in WHOLE_ROWS]
)
def test_a_record_of_a_whole_row_has_every_column_of_its_table(record: type, table: Table) -> None:
    assert [field.name for field in fields(record)] == [column.name for column in table.c]
