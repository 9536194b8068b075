"""console lookups: statements of reasons by their subject, the audit log by action, actor or subject

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_moderation_statements_subject_type_subject_id": (
        "moderation_statements",
        ["subject_type", "subject_id"],
    ),
    "ix_audit_log_action_seq": ("audit_log", ["action", "seq"]),
    "ix_audit_log_actor_id_seq": ("audit_log", ["actor_id", "seq"]),
    "ix_audit_log_subject_type_subject_id_seq": (
        "audit_log",
        ["subject_type", "subject_id", "seq"],
    ),
}


def upgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, (table, _columns) in INDEXES.items():
        op.drop_index(name, table_name=table)
