"""`/metrics` in the Prometheus text format: the requests answered (by route and status, with
their latency), sockets and long polls open, and the server's vital signs read at each scrape.

Routes are labelled by their template (`/api/v1/conversations/{conversation_id}`), never the
path a client sent, so no client can add series. The page answers only the addresses in
`metrics_allowed_from` (loopback by default): it shows how busy the service is."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import structlog
from fastapi import Request
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.responses import Response
from starlette.types import Scope

from townhall.api.errors import error_response
from townhall.api.openapi import api_router
from townhall.domain.errors import ErrorCode
from townhall.logs import REDACTED
from townhall.services.classifiers import WorkerState
from townhall.services.container import Services

disable_created_metrics()  # the `_created` series only add noise to every scrape

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
UNMATCHED = "unmatched"
OLD_JOIN_LINK = "/app/join/"
access_log = structlog.get_logger("townhall.access")


class Metrics:
    def __init__(self, allowed_from: Sequence[str]) -> None:
        self.registry = CollectorRegistry()
        self._allowed = [ipaddress.ip_network(a, strict=False) for a in allowed_from]
        r = self.registry
        self.requests = Counter(
            "townhall_http_requests",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "townhall_http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        # As many as (method, route, status) answered: the routes' templates bound them.
        self._answers: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self.in_progress = Gauge(
            "townhall_http_requests_in_progress", "HTTP requests being answered", registry=r
        )
        self.long_polls = Gauge(
            "townhall_sync_long_polls_waiting", "Long polls waiting for an event", registry=r
        )
        self.sockets = Gauge("townhall_websockets_open", "WebSockets open", registry=r)
        self.writer_queue = Gauge(
            "townhall_message_writer_queue_depth", "Messages waiting to be written", registry=r
        )
        self.writer_batches = Histogram(
            "townhall_message_writer_batch_size",
            "Messages committed in one transaction",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.bus_connected = Gauge(
            "townhall_bus_connected",
            "1 while live pushes reach the other processes (always, on the in-memory bus)",
            registry=r,
        )
        self.bus_dropped = Gauge(
            "townhall_bus_publishes_dropped",
            "Live pushes since start that never reached the other processes (Redis away)",
            registry=r,
        )
        self.review_pending = Gauge(
            "townhall_review_cases_pending",
            "Review cases waiting, by what raised them",
            ["source"],
            registry=r,
        )
        self.review_overdue = Gauge(
            "townhall_review_cases_overdue",
            "Waiting review cases past their service time",
            ["source"],
            registry=r,
        )
        self.classifier_up = Gauge(
            "townhall_classifier_worker_up", "1 while the classifier worker answers", registry=r
        )
        self.checkpoint_age = Gauge(
            "townhall_audit_checkpoint_age_seconds",
            "Seconds since the newest signed audit checkpoint (absent before the first)",
            registry=r,
        )
        self.checkpoint_verifies = Gauge(
            "townhall_audit_checkpoint_verifies",
            "1 while the newest checkpoint verifies",
            registry=r,
        )

    def answered(self, scope: Scope, status: int, seconds: float) -> None:
        """Count and time one answer, by its route's template. Each series is looked up once:
        `labels` checks its values and takes a lock on every call."""
        method = scope["method"]
        route = _template(scope)
        key = (method, route, status)
        series = self._answers.get(key)
        if series is None:
            series = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
            self._answers[key] = series
        count, latency = series
        count.inc()
        latency.observe(seconds)

    def allows(self, address: str | None) -> bool:
        try:
            client = ipaddress.ip_address(address or "")
        except ValueError:
            return False
        return any(client in network for network in self._allowed)

    async def render(self, services: Services) -> bytes:
        vitals = await services.vitals.read()
        self.writer_queue.set(vitals.writer_queue_depth)
        self.long_polls.set(vitals.long_polls_waiting)
        self.bus_connected.set(vitals.bus_connected)
        self.bus_dropped.set(vitals.bus_dropped)
        self.classifier_up.set(vitals.classifier_worker == WorkerState.UP)
        for source, waiting in vitals.review.by_source.items():
            self.review_pending.labels(source).set(waiting.pending)
            self.review_overdue.labels(source).set(waiting.overdue)
        if vitals.checkpoint_age_seconds is None:
            self.checkpoint_age.set(float("nan"))
        else:
            self.checkpoint_age.set(vitals.checkpoint_age_seconds)
        self.checkpoint_verifies.set(vitals.checkpoint_verifies)
        return generate_latest(self.registry)


def log_request(scope: Scope, status: int, seconds: float) -> None:
    """The access log's line for an answered request (never its query string or body)."""
    access_log.info(
        "request",
        method=scope["method"],
        path=_loggable(scope["path"]),
        status=status,
        ms=round(seconds * 1000, 1),
        client=_client(scope),
    )


@contextmanager
def observed_socket(metrics: Metrics, scope: Scope) -> Iterator[None]:
    """Count a WebSocket as open while it is served, and log it when it ends: one line a socket
    on `townhall.access`, as for a request."""
    metrics.sockets.inc()
    started = time.perf_counter()
    try:
        yield
    finally:
        metrics.sockets.dec()
        access_log.info(
            "websocket",
            path=scope["path"],
            seconds=round(time.perf_counter() - started, 1),
            client=_client(scope),
        )


def _loggable(path: str) -> str:
    """The path less a join link's token: links made before they carried it after `#` (which
    no browser sends) still open the app at `/app/join/<token>`."""
    return OLD_JOIN_LINK + REDACTED if path.startswith(OLD_JOIN_LINK) else path


def _client(scope: Scope) -> str | None:
    client = scope.get("client")
    return client[0] if client else None


def _template(scope: Scope) -> str:
    route = scope.get("route")
    return getattr(route, "path_format", None) or getattr(route, "path", None) or UNMATCHED


router = api_router(tags=["operations"], include_in_schema=False)


@router.get("/metrics")
async def metrics_page(request: Request) -> Response:
    metrics: Metrics = request.app.state.metrics
    if not metrics.allows(request.client.host if request.client else None):
        return error_response(ErrorCode.NOT_FOUND, "no such page")
    body = await metrics.render(request.app.state.services)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
