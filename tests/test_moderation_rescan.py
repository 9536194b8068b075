"""`townhall moderation rescan --since` re-checks published posts after the lexicon changed and
queues what now matches for review; the post stays up until a reviewer decides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import MakeStaff, MakeUser, Server
from tests.support import post_matching_a_new_term
from townhall.cli.main import app


async def test_a_rescan_queues_posts_that_match_a_term_added_since(
    server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    operator = await make_user("operator")
    reviewer = await make_staff("reviewer")
    admin = await make_staff("admin")
    post = await post_matching_a_new_term(operator, reviewer, admin)
    account_id = post["public_account_id"]
    clean = await operator.publish(account_id, title="春茶上市", body="今年的春茶很香。")

    done = server.cli("moderation", "rescan", "--since", "1d", "--json", "-")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["scanned"] >= 2
    assert report["decisions"]["hold"] >= 1
    assert report["queued"] >= 1

    cases = (
        await reviewer.request(
            "GET", "/api/v1/admin/review/cases", params={"source": "flag", "limit": 500}
        )
    )["cases"]
    targets = {(case["target"]["type"], case["target"]["id"]): case for case in cases}
    case = targets[("post", post["id"])]
    assert case["categories"] == ["fraud"] and case["severity"] == "medium"
    assert ("post", clean["id"]) not in targets
    # Still up until a reviewer decides.
    assert (await operator.read_post(post["id"]))["title"] == "理财小贴士"

    again = json.loads(server.cli("moderation", "rescan", "--since", "1d", "--json", "-").stdout)
    assert again["decisions"]["hold"] == report["decisions"]["hold"]
    assert again["queued"] == report["queued"]  # the same cases, still waiting
    one = await reviewer.request("GET", f"/api/v1/admin/review/cases/{case['id']}")
    assert one["sources"] == ["flag"]  # the same case, not a second one


@pytest.mark.parametrize("since", ["yesterday", "-3d", "2026-13-01"])
def test_a_rescan_refuses_a_since_it_cannot_read(tmp_path: Path, since: str) -> None:
    done = CliRunner().invoke(
        app, ["moderation", "rescan", "--since", since, "--data-dir", str(tmp_path)]
    )
    assert done.exit_code == 2
    assert "--since" in done.output
    assert not (tmp_path / "townhall.db").exists()  # refused before touching anything
