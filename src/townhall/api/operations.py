"""Probes for load balancers and orchestrators: is the process up, can this node serve."""

from __future__ import annotations

from townhall.api.deps import ServicesDep
from townhall.api.models.operations import Health, Readiness
from townhall.api.openapi import api_router
from townhall.api.responses import JSONBody

router = api_router(tags=["operations"])


@router.get(
    "/healthz",
    summary="Check that the process is up",
    response_model=Health,
)
async def healthz() -> Health:
    """Answers while the process runs, whatever it depends on (a liveness probe)."""
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="Check that this node can serve",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "a check failed: send no traffic here"}},
)
async def readyz(services: ServicesDep) -> JSONBody:
    """The database takes a write, the message writer runs, the schema is at this release's
    migration head, the key files can be read, and the classifier worker answers when
    classifiers are on. 503 names what failed."""
    checks = await services.readiness.checks()
    ready = all(check.ok for check in checks)
    body = Readiness.model_validate({"status": "ready" if ready else "unready", "checks": checks})
    return JSONBody(body.model_dump(mode="json"), status_code=200 if ready else 503)
