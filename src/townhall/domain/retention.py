"""How long records are kept (REGULATION.md, "Records": network logs at least six months)."""

from __future__ import annotations

import msgspec

MIN_LOG_DAYS = 183  # six months, rounded up


class RetentionRules(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    audit_log_days: int  # rows older than this lose their content; their hashes stay
    case_content_days: int  # a decided case's copy of the content is cleared after this


def check_rules(rules: RetentionRules) -> str | None:
    if rules.audit_log_days < MIN_LOG_DAYS:
        return f"retention.audit_log_days: logs are kept at least {MIN_LOG_DAYS} days"
    if rules.case_content_days < 1:
        return "retention.case_content_days: must be >= 1"
    return None
