"""`townhall export cases | sanctions | reports | escalations | stats` write the auditor's records
as CSV or JSON, and `townhall export dsa-statements` writes DSA statements of reasons, at most 100
a file, without personal data, and only under the eu-dsa pack. Each run is one audit row."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.api.test_auditor import a_sanction, decide
from tests.conftest import MakeStaff, MakeUser, Server, ServerPool, fresh_identity
from tests.support import case_of, identity_secrets, leaks, public_account, query_db
from townhall.packs import load_pack

pytestmark = pytest.mark.long  # among the longest modules: scheduled first (conftest.py)

RECORDS = ("cases", "sanctions", "reports", "escalations", "stats")
TZ = ZoneInfo(load_pack("cn-2014").timezone)
EU_PACK = load_pack("eu-dsa")
EU_TZ = ZoneInfo(EU_PACK.timezone)
BLOCKED = "i will kill you"  # eu-dsa: violence, high: blocked in a direct chat
STATEMENT_KEYS = {
    "puid",
    "decision_visibility",
    "end_date_visibility_restriction",
    "decision_monetary",
    "end_date_monetary_restriction",
    "decision_provision",
    "end_date_service_restriction",
    "decision_account",
    "end_date_account_restriction",
    "account_type",
    "decision_ground",
    "incompatible_content_ground",
    "incompatible_content_explanation",
    "decision_facts",
    "category",
    "content_type",
    "content_date",
    "application_date",
    "territorial_scope",
    "source_type",
    "automated_detection",
    "automated_decision",
}


def audit_rows(server: Server, action: str) -> int:
    ((count,),) = query_db(
        server.data_dir, "SELECT count(*) FROM audit_log WHERE action = ?", action
    )
    return count


def around_today(tz: ZoneInfo) -> list[str]:
    today = datetime.now(tz).date()
    return ["--since", str(today - timedelta(days=1)), "--until", str(today + timedelta(days=1))]


@pytest.fixture
def reach_server(servers: ServerPool) -> Server:
    """The shared server whose pack escalates a post at 3 views (as tests/api/test_reach.py)."""
    return servers.shared(policy_pack=servers.pack(serious_views=3, serious_forwards=2))


@pytest.fixture
def eu_server(servers: ServerPool) -> Iterator[Server]:
    """A server of this test's own under eu-dsa: the statements are exactly the ones made here."""
    own = servers.start(policy_pack="eu-dsa")
    yield own
    own.stop()


async def test_each_record_export_parses_in_both_formats_and_holds_the_rows_made(
    reach_server: Server, make_user: MakeUser, make_staff: MakeStaff, tmp_path: Path
) -> None:
    server = reach_server
    identities = [fresh_identity(legal_name="欧阳娜娜"), fresh_identity(legal_name="司马光")]
    alice = await make_user("alice", on=server, identity=identities[0])
    bob = await make_user("bob", on=server, identity=identities[1])
    reviewer = await make_staff("reviewer", on=server)
    chat = (await alice.open_direct(bob.id))["id"]
    message = await alice.send(chat, f"周末一起玩百家乐 {uuid.uuid4().hex}")  # removed: unique
    report = await bob.report("message", message["id"], "gambling", "she sent it twice")
    case = await case_of(reviewer, "message", message["id"])
    await decide(reviewer, case["id"], "remove")
    await bob.report("user", alice.id, "gambling")
    upheld = await case_of(reviewer, "user", alice.id)
    await decide(reviewer, upheld["id"], "uphold")
    sanction = await a_sanction(reviewer, alice.id, case_id=upheld["id"], days=7)
    sanction_id = sanction["id"]
    account = await public_account(bob, reviewer)
    post = await bob.publish(account["id"], "春茶上市", "春茶上市。正文。")
    for _ in range(3):
        await (await make_user("reader", on=server)).read_post(post["id"])
    made = {
        "cases": case["id"],
        "sanctions": sanction_id,
        "reports": report["id"],
        "escalations": post["id"],
    }

    for what in RECORDS:
        before = audit_rows(server, f"export.{what}")
        path = tmp_path / f"{what}.json"
        as_json = server.cli("export", what, "--format", "json", "-o", str(path), *around_today(TZ))
        assert as_json.returncode == 0, as_json.stderr
        assert f"to {path}" in as_json.stderr
        records = json.loads(path.read_text(encoding="utf-8"))
        as_csv = server.cli("export", what, "--format", "csv", *around_today(TZ))
        assert as_csv.returncode == 0, as_csv.stderr
        rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
        assert len(rows) == len(records) and set(rows[0]) == set(records[0])
        assert audit_rows(server, f"export.{what}") == before + 2
        if what == "stats":
            assert {row["category"] for row in rows} >= {"gambling"}
            gambling = [r for r in records if r["category"] == "gambling"]
            assert sum(r["removed"] for r in gambling) >= 1
            assert sum(r["sanctions_limit_publication"] for r in gambling) >= 1
        else:
            key = "post_id" if what == "escalations" else "id"
            assert made[what] in {record[key] for record in records}
            assert str(made[what]) in {row[key] for row in rows}
        for secrets in map(identity_secrets, identities):
            assert leaks(path.read_bytes() + as_csv.stdout.encode(), secrets) == []
        assert "she sent it twice" not in as_csv.stdout  # a report's free text is the reporter's

    # A period without these records exports none of them, and a bad date is refused.
    old = server.cli("export", "cases", "--format", "json", "--until", "2001-01-01")
    assert old.returncode == 0, old.stderr
    assert json.loads(old.stdout) == []
    weekly = server.cli(
        "export", "stats", "--period", "week", "--format", "json", *around_today(TZ)
    )
    assert weekly.returncode == 0 and json.loads(weekly.stdout)
    refused = server.cli("export", "sanctions", "--since", "last tuesday")
    assert refused.returncode == 2 and "since must be an ISO date" in refused.stderr


def passport_identity() -> dict[str, str]:
    number = f"E{uuid.uuid4().int % 10**8:08d}"
    return fresh_identity(id_type="passport", id_number=number, legal_name="ERIKA MUSTERMANN")


def statements_in(folder: Path) -> list[list[dict[str, Any]]]:
    files = sorted(folder.glob("statements-*.json"))
    return [json.loads(path.read_text(encoding="utf-8"))["statements"] for path in files]


async def test_dsa_statements_come_100_a_file_without_personal_data(
    eu_server: Server, make_user: MakeUser, make_staff: MakeStaff, tmp_path: Path
) -> None:
    server = eu_server
    identities = [passport_identity(), passport_identity()]
    alice = await make_user("alice", on=server, identity=identities[0])
    bob = await make_user("bob", on=server, identity=identities[1])
    reviewer = await make_staff("reviewer", on=server)
    chat = (await alice.open_direct(bob.id))["id"]
    # Blocked texts each leave a statement: 147 of them, cheaply.
    for number in range(147):
        answer = await alice.raw(
            "POST",
            f"/api/v1/conversations/{chat}/messages",
            json={"text": f"{BLOCKED} {number}", "client_id": f"blocked-{number}"},
        )
        assert answer.status_code == 422, answer.text
    # A held post, a removal after a report, a suspension and a warning (which restricts
    # nothing and has no statement).
    account = await public_account(bob, reviewer)
    held = await bob.publish(account["id"], "Casino night", "baccarat tables all night")
    assert held["moderation"] == "held"
    message = await alice.send(chat, "let us play baccarat")
    await bob.report("message", message["id"], "gambling")
    case = await case_of(reviewer, "message", message["id"])
    await decide(reviewer, case["id"], "remove")
    # The pack wants a warning before a suspension. Staff wrote the subject's handle, display
    # name and phone into the facts of the suspension: they come out.
    await a_sanction(reviewer, alice.id, "warning")
    facts = f"{alice.handle} (Alice, {identities[0]['phone']}) threatened people again"
    await a_sanction(reviewer, alice.id, "suspend_updates", reason=facts, days=30)

    out = tmp_path / "sor"
    before = audit_rows(server, "export.dsa_statements")
    done = server.cli("export", "dsa-statements", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "statements-000001.json: 100 statement(s)" in done.stderr
    batches = statements_in(out)
    assert [len(batch) for batch in batches] == [100, 50]
    assert audit_rows(server, "export.dsa_statements") == before + 1
    statements = [statement for batch in batches for statement in batch]
    text = json.dumps(statements, ensure_ascii=False)
    for identity in identities:
        assert leaks(text.encode(), identity_secrets(identity)) == []
    for user in (alice, bob):
        assert user.handle not in text.lower()
    assert "Alice" not in text and "Bob" not in text
    assert all(set(s) == STATEMENT_KEYS for s in statements), statements[0]
    assert len({s["puid"] for s in statements}) == 150

    (suspended,) = [s for s in statements if s["decision_account"]]
    assert suspended["decision_account"] == "DECISION_ACCOUNT_SUSPENDED"
    assert suspended["account_type"] == "ACCOUNT_TYPE_PRIVATE"
    assert suspended["end_date_account_restriction"] > suspended["application_date"]
    assert suspended["decision_ground"] == "DECISION_GROUND_INCOMPATIBLE_CONTENT"
    assert suspended["automated_decision"] == "AUTOMATED_DECISION_NOT_AUTOMATED"
    assert (
        suspended["decision_facts"] == "[redacted] ([redacted], [redacted]) threatened people again"
    )
    visibility = [s["decision_visibility"] for s in statements]
    assert visibility.count(["DECISION_VISIBILITY_CONTENT_DISABLED"]) == 1  # the held post
    removed = [s for s in statements if s["source_type"] == "SOURCE_ARTICLE_16"]
    assert [s["decision_visibility"] for s in removed] == [["DECISION_VISIBILITY_CONTENT_REMOVED"]]
    assert removed[0]["category"] == "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"  # gambling
    blocks = [s for s in statements if s["automated_decision"] == "AUTOMATED_DECISION_FULLY"]
    assert len(blocks) == 147 + 1  # and the hold
    assert {s["category"] for s in blocks} >= {"STATEMENT_CATEGORY_VIOLENCE"}
    assert all(s["automated_detection"] == "Yes" for s in blocks)
    assert not any(BLOCKED in s["decision_facts"] for s in statements)  # not the author's text

    # The same decisions keep their puids; an earlier run's folder is not written into.
    again = server.cli(
        "export", "dsa-statements", "--out", str(tmp_path / "again"), *around_today(EU_TZ)
    )
    assert again.returncode == 0, again.stderr
    assert statements_in(tmp_path / "again") == batches
    into_old = server.cli("export", "dsa-statements", "--out", str(out))
    assert into_old.returncode == 2 and "already holds statements files" in into_old.stderr
    assert audit_rows(server, "export.dsa_statements") == before + 2

    # The console's download: the same statements in one file, the auditor's look recorded.
    auditor = await make_staff("auditor", on=server)
    download = await auditor.raw("GET", "/api/v1/audit/dsa-statements")
    assert download.status_code == 200, download.text
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.json() == {"statements": statements}
    assert audit_rows(server, "export.dsa_statements") == before + 3
    refused = await reviewer.raw("GET", "/api/v1/audit/dsa-statements")
    assert refused.status_code == 403


async def test_dsa_statements_are_refused_under_a_pack_that_files_none(
    server: Server, make_staff: MakeStaff, tmp_path: Path
) -> None:
    before = audit_rows(server, "export.dsa_statements")
    done = server.cli("export", "dsa-statements", "--out", str(tmp_path / "sor"))
    assert done.returncode == 2
    assert "cn-2014 policy pack does not file DSA statements" in done.stderr
    assert "enforcement.dsa_statements" in done.stderr
    assert not (tmp_path / "sor").exists()
    auditor = await make_staff("auditor")
    download = await auditor.raw("GET", "/api/v1/audit/dsa-statements")
    assert download.status_code == 422
    assert download.json()["error"]["code"] == "dsa_statements_off"
    assert audit_rows(server, "export.dsa_statements") == before
