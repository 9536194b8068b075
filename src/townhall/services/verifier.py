"""The identity-verification provider: the port registration asks, and its two adapters.

`none` checks nothing: every answer is `unavailable`, so identities stay `format_checked` until a
reviewer confirms them. `http` asks the operator's provider (the national register's check of
name and number, the carrier's check of phone, name and number) over the contract in
docs/identity.md, "Identity-verification provider". Personal data goes in request bodies to the
configured URL and nowhere else: never into a URL, a header or a log line.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
import uuid
from pathlib import Path
from typing import Protocol

import httpx
import orjson

from townhall.domain.identity import ProviderAnswer

log = logging.getLogger(__name__)

IDENTITY_PATH = "identity"
PHONE_HOLDER_PATH = "phone-holder"
DEFINITE_ANSWERS = frozenset({ProviderAnswer.MATCH, ProviderAnswer.NO_MATCH})
RETRY_PAUSE_SECONDS = 0.2  # doubled before each further try


class RealNameVerifier(Protocol):
    """Answers `match`, `no_match` or `unavailable`; never raises for the provider's faults."""

    configured: bool  # False: there is no provider to ask at all

    async def verify_identity(self, *, legal_name: str, id_type: str, id_number: str) -> str: ...

    async def verify_phone_holder(
        self, *, phone: str, legal_name: str, id_type: str, id_number: str
    ) -> str: ...

    async def aclose(self) -> None: ...


class NoVerifier:
    """The default: no provider, so no answer."""

    configured = False

    async def verify_identity(self, *, legal_name: str, id_type: str, id_number: str) -> str:
        return ProviderAnswer.UNAVAILABLE

    async def verify_phone_holder(
        self, *, phone: str, legal_name: str, id_type: str, id_number: str
    ) -> str:
        return ProviderAnswer.UNAVAILABLE

    async def aclose(self) -> None:
        return None


@functools.cache
def certificate_authorities() -> ssl.SSLContext:
    """The trust the provider's certificate is checked against (certifi's, as httpx's default):
    built once a process, since loading it costs tens of milliseconds of CPU a client."""
    return httpx.create_ssl_context(trust_env=False)


class HttpVerifier:
    """POSTs each check as JSON with a bearer secret; a timeout, a refused connection, a 429 or
    a 5xx is tried again `retries` times, anything else unexpected is `unavailable` at once."""

    configured = True

    def __init__(self, url: str, secret: str, *, timeout_seconds: float, retries: int) -> None:
        self._retries = retries
        self._client = httpx.AsyncClient(
            base_url=url.rstrip("/") + "/",
            headers={"Authorization": f"Bearer {secret}"},
            timeout=httpx.Timeout(timeout_seconds),
            # Personal data goes to the configured URL only: not through a proxy named in the
            # environment, not after a redirect.
            trust_env=False,
            follow_redirects=False,
            verify=certificate_authorities(),
        )

    async def verify_identity(self, *, legal_name: str, id_type: str, id_number: str) -> str:
        body = {"legal_name": legal_name, "id_type": id_type, "id_number": id_number}
        return await self._ask(IDENTITY_PATH, body)

    async def verify_phone_holder(
        self, *, phone: str, legal_name: str, id_type: str, id_number: str
    ) -> str:
        body = {
            "phone": phone,
            "legal_name": legal_name,
            "id_type": id_type,
            "id_number": id_number,
        }
        return await self._ask(PHONE_HOLDER_PATH, body)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _ask(self, path: str, body: dict[str, str]) -> str:
        # One id for the check and its retries: the provider may answer a repeat from its cache.
        headers = {"X-Request-Id": uuid.uuid4().hex}
        failure = ""
        for attempt in range(self._retries + 1):
            if attempt:
                await asyncio.sleep(RETRY_PAUSE_SECONDS * 2 ** (attempt - 1))
            try:
                response = await self._client.post(path, json=body, headers=headers)
            except httpx.TimeoutException:
                failure = "timed out"
                continue
            except httpx.TransportError as error:
                failure = f"could not be reached ({type(error).__name__})"
                continue
            if response.status_code == 429 or response.status_code >= 500:
                failure = f"answered {response.status_code}"
                continue
            return _answer(path, response)
        log.warning(
            "identity provider %s check: %s, %d attempt(s); the identity stays unverified",
            path,
            failure,
            self._retries + 1,
        )
        return ProviderAnswer.UNAVAILABLE


def _answer(path: str, response: httpx.Response) -> str:
    """The provider's definite answer, or `unavailable` with a log line naming what was wrong
    (the status or the shape, never the body: it may echo what was sent)."""
    if response.status_code != 200:
        log.error(
            "identity provider %s check answered %d (a wrong verifier_url or secret?)",
            path,
            response.status_code,
        )
        return ProviderAnswer.UNAVAILABLE
    try:
        result = orjson.loads(response.content).get("result")
    except (orjson.JSONDecodeError, AttributeError):
        result = None
    if result not in DEFINITE_ANSWERS:
        log.error("identity provider %s check answered 200 without a known result", path)
        return ProviderAnswer.UNAVAILABLE
    return str(result)


def open_verifier(
    kind: str,
    *,
    url: str | None,
    secret_file: Path | None,
    timeout_seconds: float,
    retries: int,
) -> RealNameVerifier:
    """The adapter the settings name (config.py has checked that `http` has a URL and secret)."""
    if kind == "none":
        return NoVerifier()
    if url is None or secret_file is None:
        raise ValueError("verifier = 'http' needs verifier_url and verifier_secret_file")
    secret = secret_file.read_text(encoding="utf-8").strip()
    if not secret:
        raise ValueError(f"verifier_secret_file {secret_file} is empty")
    return HttpVerifier(url, secret, timeout_seconds=timeout_seconds, retries=retries)
