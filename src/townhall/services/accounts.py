"""Registration, login sessions and the caller's own profile."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError

from townhall.domain.accounts import (
    AccountStatus,
    IdentityClaim,
    check_display_name,
    check_identity_shape,
    check_password,
    normalize_handle,
)
from townhall.domain.errors import Conflict, InvalidInput, Unauthenticated
from townhall.domain.limits import Limits
from townhall.domain.time import iso_utc
from townhall.services.principal import Principal
from townhall.store import accounts as account_store
from townhall.store import sessions as session_store
from townhall.store.database import Database
from townhall.store.vault import IdentityVault

PASSWORD_PROFILES = {
    "rfc9106_low_memory": profiles.RFC_9106_LOW_MEMORY,
    "cheapest": profiles.CHEAPEST,  # tests and benchmarks only
}


@dataclass(frozen=True, slots=True)
class IssuedSession:
    token: str
    expires_at_ms: int


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AccountService:
    def __init__(
        self,
        database: Database,
        vault: IdentityVault,
        *,
        limits: Limits,
        password_profile: str,
        session_ttl_seconds: float,
        clock: Callable[[], float],
    ) -> None:
        self._db = database
        self._vault = vault
        self._limits = limits
        self._hasher = PasswordHasher.from_parameters(PASSWORD_PROFILES[password_profile])
        # Verified against when the handle is unknown, so both paths cost the same time.
        self._decoy_hash = self._hasher.hash(secrets.token_urlsafe(16))
        self._session_ttl_ms = int(session_ttl_seconds * 1000)
        self._clock = clock

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def register(
        self,
        *,
        handle: str,
        password: str,
        display_name: str,
        identity: IdentityClaim | None,
        agreement_version: str | None,
        ip: str | None,
    ) -> dict[str, Any]:
        handle = normalize_handle(handle)
        display_name = check_display_name(display_name, self._limits)
        check_password(password)
        claim = check_identity_shape(identity) if identity is not None else None
        password_hash = await asyncio.to_thread(self._hasher.hash, password)
        now_ms = self._now_ms()
        try:
            async with self._db.writing() as conn:
                if await account_store.handle_taken(conn, handle):
                    raise Conflict("that handle is taken", code="handle_taken")
                account_id = await account_store.insert_account(
                    conn,
                    handle=handle,
                    display_name=display_name,
                    password_hash=password_hash,
                    status=AccountStatus.ACTIVE,
                    now_ms=now_ms,
                )
                if claim is not None:
                    key_id, sealed = self._vault.seal(account_id, claim)
                    await account_store.insert_identity(
                        conn,
                        account_id=account_id,
                        key_id=key_id,
                        sealed=sealed,
                        blind_index=self._vault.blind_index(claim),
                        now_ms=now_ms,
                    )
                if agreement_version is not None:
                    await account_store.record_agreement(
                        conn,
                        account_id=account_id,
                        version=agreement_version,
                        ip=ip,
                        now_ms=now_ms,
                    )
        except IntegrityError as exc:  # a concurrent registration took the handle first
            raise Conflict("that handle is taken", code="handle_taken") from exc
        return await self.profile(account_id)

    async def log_in(self, handle: str, password: str) -> IssuedSession:
        try:
            handle = normalize_handle(handle)
        except InvalidInput:
            handle = ""
        async with self._db.reading() as conn:
            account = await account_store.find_by_handle(conn, handle) if handle else None
        stored_hash = account.password_hash if account is not None else self._decoy_hash
        if not await asyncio.to_thread(self._password_matches, stored_hash, password) or (
            account is None or account.status != AccountStatus.ACTIVE
        ):
            raise Unauthenticated("handle or password is wrong", code="login_failed")
        token = secrets.token_urlsafe(32)
        now_ms = self._now_ms()
        expires_at_ms = now_ms + self._session_ttl_ms
        async with self._db.writing() as conn:
            await session_store.insert_session(
                conn,
                token_hash=hash_token(token),
                account_id=account.id,
                now_ms=now_ms,
                expires_at_ms=expires_at_ms,
            )
        return IssuedSession(token, expires_at_ms)

    def _password_matches(self, stored_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    async def authenticate(self, token: str) -> Principal:
        token_hash = hash_token(token)
        async with self._db.reading() as conn:
            session = await session_store.find(conn, token_hash)
            account = await account_store.get(conn, session.account_id) if session else None
        if session is None or account is None:
            raise Unauthenticated("the token is not valid", code="token_invalid")
        if session.revoked_at is not None:
            raise Unauthenticated("the session was logged out", code="token_revoked")
        if session.expires_at <= self._now_ms():
            raise Unauthenticated("the session has expired", code="token_expired")
        if account.status != AccountStatus.ACTIVE:
            raise Unauthenticated("the account is not active", code="account_inactive")
        return Principal(account.id, account.handle, token_hash)

    async def log_out(self, principal: Principal) -> None:
        async with self._db.writing() as conn:
            await session_store.revoke(conn, principal.token_hash, self._now_ms())

    async def profile(self, account_id: int) -> dict[str, Any]:
        async with self._db.reading() as conn:
            account = await account_store.get(conn, account_id)
            identity_on_file = await account_store.has_identity(conn, account_id)
        if account is None:
            raise Unauthenticated("the account no longer exists", code="account_inactive")
        return {
            "id": account.id,
            "handle": account.handle,
            "display_name": account.display_name,
            "status": account.status,
            "identity_on_file": identity_on_file,
            "created_at": iso_utc(account.created_at),
        }
