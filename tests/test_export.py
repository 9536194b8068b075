"""`townhall export filings` writes the approved accounts an operator files with the authority,
as CSV or JSON, and nothing of the operators' private identities."""

from __future__ import annotations

import csv
import io
import json

from stdnum.cn import uscc

from tests.conftest import MakeStaff, MakeUser, Server, fresh_identity
from tests.support import identity_secrets, leaks


def valid_uscc(body: str) -> str:
    return body + uscc.calc_check_digit(body)


def export(server: Server, *args: str) -> str:
    done = server.cli("export", "filings", *args, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_filings_export_lists_approved_accounts_by_category_without_identity(
    server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    identity = fresh_identity()
    operator = await make_user("operator", identity=identity)
    reviewer = await make_staff("reviewer")
    code = valid_uscc("91310000MA1FL0000")
    applied = await operator.apply_public_account(
        "晨光书店",
        "enterprise",
        account_type="service",
        entity_name="晨光书店有限公司",
        registration_number_type="cn_uscc",
        registration_number=code,
    )
    pending = await (await make_user("waiting")).apply_public_account("等待中的号", "individual")
    await reviewer.request(
        "POST",
        f"/api/v1/admin/public-accounts/{applied['id']}/decision",
        json={"decision": "approve"},
    )

    records = json.loads(export(server, "--format", "json", "--category", "enterprise"))
    mine = [record for record in records if record["public_account_id"] == applied["id"]]
    assert mine == [
        {
            "public_account_id": applied["id"],
            "name": "晨光书店",
            "category": "enterprise",
            "account_type": "service",
            "status": "approved",
            "news_entitlement": "none",
            "entity_kind": "organisation",
            "entity_name": "晨光书店有限公司",
            "registration_number_type": "cn_uscc",
            "registration_number": code,
            "news_licence": None,
            "operator_id": operator.id,
            "applied_at": applied["applied_at"],
            "approved_at": mine[0]["approved_at"],
        }
    ]
    assert mine[0]["approved_at"] is not None
    assert {record["category"] for record in records} == {"enterprise"}

    table = export(server, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(table)))
    assert str(applied["id"]) in {row["public_account_id"] for row in rows}
    assert str(pending["id"]) not in {row["public_account_id"] for row in rows}
    assert leaks(table.encode(), identity_secrets(identity)) == []
