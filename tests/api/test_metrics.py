"""/metrics: requests by route template and status, long polls, sockets, the message writer and
the review queue, as Prometheus reads them; only for the addresses allowed."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import httpx
import websockets
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import MakeUser, Server, ServerPool, User
from tests.support import group_of, report, sent


async def scrape(server: Server) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        answer = await http.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_requests_are_counted_by_route_template_and_status(
    server: Server, make_user: MakeUser
) -> None:
    alice: User = await make_user("alice")
    before = await scrape(server)
    for conversation_id in (123456, 654321):
        assert (
            await alice.raw("GET", f"/api/v1/conversations/{conversation_id}")
        ).status_code == 404
    assert (await alice.raw("GET", "/no/such/page/42")).status_code == 404
    samples = await scrape(server)

    def counted(name: str, **labels: str) -> float:  # by these requests, on the shared server
        return value(samples, name, **labels) - value(before, name, **labels)

    route = "/api/v1/conversations/{conversation_id}"
    total = "townhall_http_requests_total"
    assert counted(total, method="GET", route=route, status="404") == 2
    assert counted(total, method="GET", route="unmatched", status="404") == 1
    assert not any("123456" in str(key) or "/no/such" in str(key) for key in samples)
    timed = "townhall_http_request_duration_seconds_count"
    assert counted(timed, method="GET", route=route) == 2


async def test_long_polls_sockets_writer_and_review_queue_are_measured(
    fresh_server: Server, make_user: MakeUser
) -> None:
    alice: User = await make_user("alice", on=fresh_server)
    bob: User = await make_user("bob", on=fresh_server)
    group = (await group_of(alice, "茶话会", bob))["id"]
    message = await sent(alice, group, "买彩票吗")
    assert (await report(bob, "message", message["id"], "gambling")).status_code == 201
    since = (await bob.request("GET", "/api/v1/sync"))["next"]
    waiting = asyncio.create_task(
        bob.request("GET", "/api/v1/sync", params={"since": since, "timeout": 10})
    )
    async with websockets.connect(fresh_server.ws_url) as socket:
        await socket.send(json.dumps({"type": "auth", "token": alice.token}))
        await socket.recv()
        await asyncio.sleep(0.3)
        samples = await scrape(fresh_server)
    assert value(samples, "townhall_sync_long_polls_waiting") == 1
    assert value(samples, "townhall_websockets_open") == 1
    assert value(samples, "townhall_message_writer_batch_size_count") >= 1
    assert value(samples, "townhall_review_cases_pending", source="report") == 1
    assert value(samples, "townhall_review_cases_overdue", source="report") == 0
    assert value(samples, "townhall_classifier_worker_up") == 0  # off in the test servers
    assert value(samples, "townhall_bus_connected") == 1  # the in-memory bus, always
    assert ("townhall_bus_publishes_dropped", ()) in samples
    await sent(alice, group, "来了")
    await waiting
    samples = await scrape(fresh_server)
    assert value(samples, "townhall_sync_long_polls_waiting") == 0
    assert value(samples, "townhall_websockets_open") == 0


async def test_metrics_answer_only_the_addresses_allowed(servers: ServerPool) -> None:
    elsewhere = servers.shared(metrics_allowed_from='["10.0.0.0/8"]')
    async with httpx.AsyncClient(base_url=elsewhere.base_url) as http:
        answer = await http.get("/metrics")
    assert answer.status_code == 404
    assert "townhall_" not in answer.text


DASHBOARD = Path(__file__).parents[2] / "docs" / "grafana-dashboard.json"


async def test_the_grafana_dashboard_charts_only_metrics_the_server_has(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        exposed = {
            family.name
            for family in text_string_to_metric_families((await http.get("/metrics")).text)
        }
    panels = json.loads(DASHBOARD.read_text(encoding="utf-8"))["panels"]
    charted = {
        re.sub(r"_(total|bucket|sum|count)$", "", name)
        for panel in panels
        for target in panel["targets"]
        for name in re.findall(r"townhall_[a-z_]+", target["expr"])
    }
    assert len(charted) >= 10
    assert charted <= exposed, charted - exposed
