"""The Redis of this machine, for the tests that need one. Each test takes a key prefix of its
own, so that tests (and agents) sharing the server never see each other's channels or keys."""

from __future__ import annotations

import os
import uuid

import redis

from tests.support import unavailable_here

REDIS_URL = os.environ.get("TOWNHALL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_url() -> str:
    """The URL of a Redis that answers; the test is unavailable here if none does."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable_here(f"no Redis at {REDIS_URL}: {type(exc).__name__}")
    finally:
        client.close()
    return REDIS_URL


def unique_prefix() -> str:
    return f"townhall-test:{uuid.uuid4().hex[:12]}:"


def drop_connections(client_name: str) -> int:
    """Close every connection Redis has for `client_name`, as a restart of Redis would."""
    with redis.Redis.from_url(REDIS_URL) as client:
        ids = [c["id"] for c in client.client_list() if c["name"] == client_name]
        for client_id in ids:
            client.client_kill_filter(_id=client_id)
    return len(ids)


def connections_named(client_name: str) -> int:
    with redis.Redis.from_url(REDIS_URL) as client:
        return sum(1 for c in client.client_list() if c["name"] == client_name)


def delete_keys(prefix: str) -> None:
    with redis.Redis.from_url(REDIS_URL) as client:
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
