"""The app's routes join its route list as they are (app.py), not through FastAPI's inclusion:
each must carry itself what inclusion would have given it, and want nothing only inclusion gives."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest
from fastapi.datastructures import DefaultPlaceholder
from fastapi.routing import APIRoute, APIRouter

import townhall.api
from townhall.api.openapi import operation_id
from townhall.api.responses import JSONBody
from townhall.app import build_app
from townhall.cli.bench_middleware import settings_for
from townhall.web import pages

pytestmark = pytest.mark.database_free


def test_every_documented_route_answers_and_is_named_as_the_app_would_have_it(
    tmp_path: Path,
) -> None:
    app = build_app(settings_for(tmp_path))
    documented = [
        route for route in app.routes if isinstance(route, APIRoute) and route.include_in_schema
    ]
    assert len(documented) > 100
    # A route names its own answer class, or has the app's: never FastAPI's default, which a
    # router not made by api_router() would give it.
    assert not [
        route.path for route in documented if isinstance(route.response_class, DefaultPlaceholder)
    ]
    assert sum(route.response_class is JSONBody for route in documented) > 100
    assert not [route.path for route in documented if route.unique_id != operation_id(route)]


def test_no_router_of_the_app_has_hooks_or_dependencies_of_its_own() -> None:
    """Inclusion merged a router's lifespan, startup and shutdown hooks, dependencies and
    callbacks into the app; adding its routes as they are drops them."""
    modules = [
        importlib.import_module(f"townhall.api.{module.name}")
        for module in pkgutil.iter_modules(townhall.api.__path__)
    ]
    routers = [
        router
        for module in [*modules, pages]
        if isinstance(router := getattr(module, "router", None), APIRouter)
    ]
    assert len(routers) >= 17
    for router in routers:
        assert (router.on_startup, router.on_shutdown, router.dependencies) == ([], [], [])
        assert router.callbacks in (None, [])
