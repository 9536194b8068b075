"""`townhall bench messaging` runs end to end on a tiny load and reports what it measured."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_messaging_bench_reports_every_scenario(tmp_path: Path) -> None:
    results_file = tmp_path / "messaging.json"
    townhall = Path(sys.executable).parent / "townhall"
    subprocess.run(
        [
            str(townhall),
            "bench",
            "messaging",
            "--json",
            str(results_file),
            "--duration",
            "0.5",
            "--pairs",
            "3",
            "--group-size",
            "4",
            "--idle-sockets",
            "10",
        ],
        check=True,
        timeout=120,
        capture_output=True,
    )
    results = json.loads(results_file.read_text())
    direct = results["a_direct_max"]
    assert direct["accepted_per_s"] > 0 and direct["errors"] == 0
    rate = results["a_direct_rate"]
    assert rate["accepted"] == rate["sent"] == rate["delivered"] > 0
    group = results["b_group"]
    assert group["posts"] > 0
    assert group["posts_reaching_everyone"] == group["posts"]
    assert group["deliveries"] == group["posts"] * (group["members"] - 1)
    idle = results["c_idle_sockets"]
    assert idle["idle_sockets"] == idle["still_open_after_load"] == 10
    assert idle["server_rss_mb_with_idle"] > 0
    assert set(results["targets"]) == {
        "a_10k_per_s",
        "a_p99_50ms_at_5k",
        "b_group_p99_100ms",
        "c_5000_idle_in_400mb",
    }
