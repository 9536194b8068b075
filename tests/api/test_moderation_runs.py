"""The moderation pipeline's long work as the console follows it: the hash bank of removed texts
(digests, never the texts), rescans begun from the API and their progress, one at a time, and
what a classifier's training measured."""

from __future__ import annotations

import asyncio
import json
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import MakeStaff, MakeUser, Server, ServerPool, User
from tests.support import (
    FLAGGED,
    assert_error,
    case_of,
    decided_case,
    post_matching_a_new_term,
    sent,
    tagged,
    write_db,
)
from tests.test_moderation_train import decided_cases, seed, train

pytestmark = pytest.mark.usefixtures("no_server_errors")
MODERATION = "/api/v1/admin/moderation"
RESCANS = f"{MODERATION}/rescans"
RUNNING = (
    "INSERT INTO rescans (requested_by, since_at, state, total, scanned, queued, decisions, "
    "started_at, heartbeat_at) VALUES (?, ?, 'running', 10, 3, 0, ?, ?, ?)"
)


async def test_the_hash_bank_lists_a_removed_text_by_its_digest_and_category(
    make_staff: MakeStaff, make_user: MakeUser, alice: User, bob: User
) -> None:
    reviewer = await make_staff("reviewer")
    chat = (await alice.open_direct(bob.id))["id"]
    text = tagged(FLAGGED)
    case = await case_of(reviewer, "message", (await sent(alice, chat, text))["id"])
    await decided_case(reviewer, case["id"], "remove")

    bank = await reviewer.request("GET", f"{MODERATION}/hash-bank", params={"limit": 500})
    (entry,) = [entry for entry in bank["newest"] if entry["case_id"] == case["id"]]
    assert entry["category"] == "gambling" and entry["near_copies"] is True
    assert len(entry["digest"]) == 64
    assert bank["size"] == sum(bank["by_category"].values()) >= 1
    assert bank["by_category"]["gambling"] >= 1
    assert text not in json.dumps(bank, ensure_ascii=False)
    newest = [entry["added_at"] for entry in bank["newest"]]
    assert newest == sorted(newest, reverse=True)

    for outsider in (await make_staff("auditor"), await make_user("plain")):
        assert_error(await outsider.raw("GET", f"{MODERATION}/hash-bank"), 403)


async def until_finished(admin: User, rescan_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        run = await admin.request("GET", f"{RESCANS}/{rescan_id}")
        if run["state"] != "running":
            return run
        await asyncio.sleep(0.1)
    raise AssertionError(f"rescan {rescan_id} still running after 30 s")


async def test_a_rescan_begun_from_the_api_runs_on_and_shows_its_progress(
    server: Server, make_staff: MakeStaff, make_user: MakeUser
) -> None:
    operator, admin = await make_user("operator"), await make_staff("admin")
    reviewer = await make_staff("reviewer")
    post = await post_matching_a_new_term(operator, reviewer, admin)
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()

    begun = await admin.raw("POST", RESCANS, json={"since": since})
    assert begun.status_code == 202, begun.text
    run = begun.json()
    assert run["requested_by"] == admin.id and run["total"] >= 1
    done = await until_finished(admin, run["id"])
    assert done["state"] == "done" and done["finished_at"] is not None
    assert done["scanned"] == done["total"] == run["total"]
    assert done["decisions"]["hold"] >= 1 and done["queued"] >= 1
    assert (await case_of(reviewer, "post", post["id"]))["categories"] == ["fraud"]

    listed = (await reviewer.request("GET", RESCANS))["rescans"]
    assert listed[0]["id"] == run["id"]
    log = await admin.request(
        "GET",
        "/api/v1/audit/log",
        params={"action": "moderation.rescan", "subject_type": "rescan", "subject_id": run["id"]},
    )
    (row,) = log["rows"]
    assert row["actor_id"] == admin.id and row["details"]["posts"] == run["total"]

    assert_error(await reviewer.raw("POST", RESCANS, json={"since": since}), 403)
    assert_error(await admin.raw("GET", f"{RESCANS}/{run['id'] + 1000}"), 404, "rescan_not_found")
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert_error(await admin.raw("POST", RESCANS, json={"since": future}), 400)
    naive = datetime.now().replace(tzinfo=None).isoformat()
    assert_error(await admin.raw("POST", RESCANS, json={"since": naive}), 400)
    # A number is not a moment, though pydantic reads one as seconds since 1970.
    assert_error(await admin.raw("POST", RESCANS, json={"since": 128}), 400, "invalid_request")


async def test_one_rescan_runs_at_a_time_and_one_whose_process_stopped_reads_interrupted(
    server: Server, make_staff: MakeStaff
) -> None:
    admin = await make_staff("admin")
    now_ms = int(time.time() * 1000)
    stale = now_ms - 5 * 60_000
    counts = '{"allow": 0, "flag": 0, "hold": 0, "block": 0}'
    an_hour_ago = now_ms - 3_600_000
    for beat in (stale, now_ms):
        write_db(server.data_dir, RUNNING, admin.id, an_hour_ago, counts, beat, beat)
    try:
        listed = (await admin.request("GET", RESCANS))["rescans"]
        assert [run["state"] for run in listed[:2]] == ["running", "interrupted"]
        since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        refused = await admin.raw("POST", RESCANS, json={"since": since})
        assert_error(refused, 409, "rescan_running")
        assert f"rescan {listed[0]['id']} is running" in refused.json()["error"]["message"]
    finally:  # the shared server's other rescans may run again
        write_db(server.data_dir, "UPDATE rescans SET state = 'failed' WHERE state = 'running'")


async def test_a_training_at_the_command_line_is_listed_with_what_it_measured(
    servers: ServerPool, make_staff: MakeStaff, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    await asyncio.to_thread(seed, data_dir, decided_cases(random.Random(2014)))
    assert (await asyncio.to_thread(train, data_dir)).exit_code == 0
    own = servers.start(data_dir=data_dir)
    try:
        reviewer = await make_staff("reviewer", on=own)
        (training,) = (await reviewer.request("GET", f"{MODERATION}/trainings"))["trainings"]
        assert training["classifier"] == "zh_ngram"
        assert (training["training_size"], training["validation_size"]) == (320, 80)
        measures = {measure.pop("category"): measure for measure in training["categories"]}
        assert measures["gambling"]["validation_positives"] == 24
        assert set(measures) == {"fraud", "gambling"} and training["left_out"] == {}
        assert all(m["precision"] >= 0.9 and m["recall"] >= 0.9 for m in measures.values())

        auditor = await make_staff("auditor", on=own)
        log = await auditor.request(
            "GET", "/api/v1/audit/log", params={"action": "classifier.train"}
        )
        (row,) = log["rows"]
        assert row["actor_id"] is None and row["subject_id"] == training["id"]
        assert_error(await auditor.raw("GET", f"{MODERATION}/trainings"), 403)
    finally:
        own.stop()
