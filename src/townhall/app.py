"""Composition root: read settings, build store, bus and services, return the ASGI app."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.middleware.cors import CORSMiddleware

from townhall import __version__
from townhall.api import errors, openapi
from townhall.api.direct import DirectRoutes
from townhall.api.edge import Edge
from townhall.api.limits import RequestGuard
from townhall.api.metrics import Metrics
from townhall.api.responses import JSONBody
from townhall.api.ws import Replays, WebSocketGateway
from townhall.bus.factory import open_bus
from townhall.config import Settings
from townhall.domain.errors import StorageFull
from townhall.packs import load_pack
from townhall.services.accounts import AccountService
from townhall.services.appeals import Appeals
from townhall.services.audit import CHECKPOINT_FOLDER, AuditLog, AuditTrail
from townhall.services.caches import Invalidations
from townhall.services.classifiers import ClassifierStage
from townhall.services.contacts import Contacts, Ties
from townhall.services.container import Services
from townhall.services.corrections import Corrections
from townhall.services.enforcement import Enforcement
from townhall.services.group_admin import GroupAdmin
from townhall.services.group_changes import GroupChanges
from townhall.services.group_links import JoinLinks
from townhall.services.groups import Groups
from townhall.services.holds import Holds
from townhall.services.identity import IdentityService
from townhall.services.image_bank import ImageBank
from townhall.services.intake import CaseIntake
from townhall.services.live_posts import LiveFollowers
from townhall.services.media import MediaService
from townhall.services.messaging import MessagingService
from townhall.services.moderation import ContentCheck
from townhall.services.names import Names
from townhall.services.notices import Notices
from townhall.services.passwords import PasswordHashing
from townhall.services.posts import PostService
from townhall.services.public_accounts import PublicAccountService
from townhall.services.rate_limits import RateLimits
from townhall.services.reach import ReachLedger
from townhall.services.readiness import Readiness
from townhall.services.regulator import RegulatorService
from townhall.services.reports import ReportService
from townhall.services.rescan import Rescan
from townhall.services.retention import Retention
from townhall.services.review import ReviewDesk
from townhall.services.search_rate import SearchRate
from townhall.services.standing import Standings
from townhall.services.sync import SyncService
from townhall.services.takedown import Takedown
from townhall.services.trainings import Trainings
from townhall.services.verifier import open_verifier
from townhall.services.vitals import Vitals
from townhall.store.database import open_database, prepare_storage
from townhall.store.leadership import Leadership
from townhall.store.media_files import LocalMediaStore
from townhall.store.message_log import MessageLog
from townhall.store.migrate import prepare_schema
from townhall.store.sms_outbox import OutboxSmsSender
from townhall.store.vault import IdentityVault

log = logging.getLogger(__name__)


MEDIA_FOLDER = "media"  # of the data dir: the local media store (store/media_files.py)

# Young-generation threshold: most objects of a send die by reference counting long before
# 50,000 net allocations, so they are never promoted. With the default (700) the objects of
# messages in flight reach the old generation and trigger full collections, each walking every
# idle connection: with 5,000 sockets open that was half the CPU (9,000 → 18,000 messages/s).
GC_THRESHOLDS = (50_000, 20, 10)


def settle_heap() -> None:
    """Tune the collector for a long-lived server with many idle connections.

    Everything alive after start-up (framework, ORM, settings) is frozen out of the collector's
    sight, so full collections do not walk it again.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


@asynccontextmanager
async def running_services(
    settings: Settings, *, clock: Callable[[], float] = time.time
) -> AsyncIterator[Services]:
    """Open the database, keys, pack and bus, and build every service on them."""
    limits = settings.limits.to_domain()
    pack = load_pack(settings.policy_pack)
    prepare_storage(settings.data_dir, settings.resolved_database_url)
    database = open_database(
        settings.resolved_database_url,
        sqlite_synchronous=settings.sqlite_synchronous,
        pool_size=settings.database_pool_size,
        pool_overflow=settings.database_pool_overflow,
    )
    await prepare_schema(database, migrate=settings.migrate_on_start)
    await database.load_positions()
    bus = open_bus(settings.bus_url, prefix=settings.bus_prefix)
    message_log = MessageLog(database, batch_max=settings.message_batch_max, clock=clock)
    invalidations = Invalidations(bus)  # a forget reaches every process on the bus
    # The limits on registration, login, reports and forwards count per cluster: in the bus's
    # Redis when it is one. Sends count per process: a shared window costs four Redis round
    # trips a send (measured 2 ms), and a socket's sends all reach one process anyway.
    rate_limits = RateLimits.for_bus(settings.bus_url, key_prefix=f"{settings.bus_prefix}limits")
    send_rate_limits = RateLimits()
    search_rate = SearchRate(rate_limits, limits)
    standings = Standings(database, pack, invalidations=invalidations)
    audit = AuditTrail(clock=clock)
    audit_log_service = AuditLog(
        database,
        settings.resolved_audit_signing_key,
        settings.data_dir / CHECKPOINT_FOLDER,
        also=settings.audit_checkpoint_also,
        clock=clock,
    )
    verifier = open_verifier(
        settings.verifier,
        url=settings.verifier_url,
        secret_file=settings.verifier_secret_file,
        timeout_seconds=settings.verifier_timeout_seconds,
        retries=settings.verifier_retries,
    )
    notices = Notices(database, bus)
    enforcement = Enforcement(
        database, notices, audit, pack, clock=clock, invalidations=invalidations
    )
    identity = IdentityService(
        database,
        IdentityVault(settings.resolved_keys_dir),
        pack,
        standings,
        enforcement,
        OutboxSmsSender(settings.data_dir / "sms-outbox.jsonl"),
        verifier,
        audit,
        notices,
        limits=limits,
        clock=clock,
    )
    images = ImageBank(
        database,
        pack,
        audit,
        clock=clock,
        invalidations=invalidations,
        max_list_bytes=limits.max_hash_list_bytes,
    )
    content_check = ContentCheck(
        database,
        pack.moderation,
        audit,
        clock=clock,
        invalidations=invalidations,
        images=images,
    )
    await content_check.load()
    names = Names(content_check, pack.naming)
    live_posts = LiveFollowers(database, bus)
    takedown = Takedown(database.positions, bus, live_posts)
    corrections = Corrections(database, bus, clock=clock)
    intake = CaseIntake(database, content_check, pack, clock=clock)
    review = ReviewDesk(
        database, takedown, corrections, content_check, images, notices, pack, audit, clock=clock
    )
    # No classifiers until the server loads them (see build_app): a CLI command needs none.
    classifiers = ClassifierStage(
        pack.moderation,
        (),
        on_flag=intake.classified,
        on_demand=pack.public_accounts.news_check.classifiers_used(),
    )
    ties = Ties(database, pack.contacts, invalidations)
    media_files = LocalMediaStore(settings.data_dir / MEDIA_FOLDER, database.storage)
    media_files.open()
    media = MediaService(
        database,
        media_files,
        enforcement,
        standings,
        audit,
        limits=limits,
        rate_limits=rate_limits,
        clock=clock,
    )
    messaging = MessagingService(
        database,
        message_log,
        bus,
        standings,
        enforcement,
        content_check,
        intake,
        classifiers,
        ties,
        media,
        limits=limits,
        rules=pack.messaging,
        rate_limits=send_rate_limits,
        search_rate=search_rate,
        clock=clock,
        invalidations=invalidations,
    )
    sync = SyncService(database, bus, limits=limits)
    group_changes = GroupChanges(
        database, bus, messaging, standings, pack.groups, limits=limits, clock=clock
    )
    reach = ReachLedger(database, pack.reach, intake, audit, clock=clock)
    rescan = Rescan(database, content_check, intake, audit, clock=clock)
    passwords = PasswordHashing.of_profile(
        settings.password_hash_profile, at_once=settings.password_hashes_at_once
    )
    group_admin = GroupAdmin(
        database,
        group_changes,
        standings,
        enforcement,
        names,
        content_check,
        limits=limits,
    )
    contacts = Contacts(
        database,
        bus,
        ties,
        identity,
        enforcement,
        names,
        content_check,
        pack.contacts,
        limits=limits,
        rate_limits=rate_limits,
        clock=clock,
    )
    services = Services(
        accounts=AccountService(
            database,
            bus,
            identity,
            standings,
            enforcement,
            names,
            pack,
            audit,
            limits=limits,
            rate_limits=rate_limits,
            passwords=passwords,
            session_ttl_seconds=settings.session_ttl_hours * 3600,
            clock=clock,
            invalidations=invalidations,
            messaging=messaging,
            group_admin=group_admin,
            contacts=contacts,
        ),
        identity=identity,
        messaging=messaging,
        groups=Groups(
            database,
            messaging,
            standings,
            enforcement,
            names,
            group_changes,
            ties,
            pack.groups,
            limits=limits,
        ),
        group_admin=group_admin,
        join_links=JoinLinks(database, group_changes, enforcement),
        sync=sync,
        public_accounts=PublicAccountService(
            database,
            standings,
            enforcement,
            notices,
            live_posts,
            names,
            pack,
            audit,
            search_rate=search_rate,
            limits=limits,
            clock=clock,
        ),
        posts=PostService(
            database,
            standings,
            enforcement,
            messaging,
            reach,
            live_posts,
            content_check,
            intake,
            classifiers,
            media,
            pack,
            rate_limits=rate_limits,
            search_rate=search_rate,
            limits=limits,
            clock=clock,
        ),
        media=media,
        moderation=content_check,
        images=images,
        intake=intake,
        review=review,
        corrections=corrections,
        enforcement=enforcement,
        appeals=Appeals(
            database,
            enforcement,
            takedown,
            content_check,
            images,
            notices,
            audit,
            pack,
            clock=clock,
        ),
        reports=ReportService(
            database, intake, enforcement, notices, pack, rate_limits, limits, clock=clock
        ),
        rescan=rescan,
        trainings=Trainings(database, audit, clock=clock),
        classifiers=classifiers,
        reach=reach,
        regulator=RegulatorService(
            database, pack, audit, keys_dir=settings.resolved_keys_dir, clock=clock
        ),
        live_posts=live_posts,
        bus=bus,
        limits=limits,
        pack=pack,
        audit_log=audit_log_service,
        retention=Retention(database, audit_log_service, audit, pack.retention, clock=clock),
        vitals=Vitals(message_log, bus, sync, classifiers, review, audit_log_service, clock=clock),
        leadership=Leadership(database),
        readiness=Readiness(
            database,
            message_log,
            classifiers,
            keys_dir=settings.resolved_keys_dir,
            audit_signing_key=settings.resolved_audit_signing_key,
            classifiers_enabled=settings.classifiers,
            clock=clock,
        ),
        contacts=contacts,
    )
    message_log.start()
    reach.start()
    live_posts.start()
    classifiers.start()
    follower = asyncio.create_task(database.follow_positions(), name="stream-positions")
    leader = asyncio.create_task(services.leadership.keep_trying(), name="leadership")
    try:
        yield services
    finally:
        follower.cancel()
        leader.cancel()
        live_posts.stop()
        await rescan.stop()
        await reach.stop()
        await message_log.stop()
        await classifiers.stop()
        await passwords.close()
        await verifier.aclose()
        await rate_limits.close()
        await bus.close()
        await database.dispose()


async def load_classifiers(services: Services, data_dir: Path) -> None:
    """Models take a second or so to load: in their worker process, after the server is up."""
    try:
        names = await services.classifiers.use_worker_process(data_dir)
    except Exception:
        log.exception("starting the classifier worker failed; classifiers stay off")
        return
    log.info("classifiers on: %s", ", ".join(names) or "none")


async def every(interval_seconds: float, job: Callable[[], Awaitable[object]], what: str) -> None:
    """The server's timer: `job` at once and then each interval. A failed round is logged and
    tried again next round: it never stops the server."""
    while True:
        try:
            await job()
        except StorageFull:
            pass  # said once in the log when the disk filled; the next round may find room
        except Exception:
            log.exception("%s failed; trying again next round", what)
        await asyncio.sleep(interval_seconds)


async def one_round(job: Callable[[], Awaitable[object]], what: str) -> None:
    """One round of a timer's job, at a moment when a failure must not stop anything."""
    try:
        await job()
    except StorageFull:
        log.warning("%s was not written: the disk is full", what)
    except Exception:
        log.exception("%s failed", what)


async def expire_sanctions(services: Services) -> None:
    """Record the end of sanctions whose time is up (they stop applying on the dot anyway)."""
    expired = await services.enforcement.expire_due()
    if expired:
        log.info("%d sanction(s) reached their end", expired)


async def purge_identities(services: Services) -> None:
    """Delete identities whose retention after deregistration has ended."""
    purged = await services.identity.purge_due()
    if purged:
        log.info("purged %d identities past their retention", purged)


async def index_phones(services: Services) -> None:
    """Once at start: phones of identities sealed before phones were indexed."""
    try:
        indexed = await services.identity.index_phones()
    except Exception:
        log.exception("indexing the phones of older identities failed; trying at next start")
        return
    if indexed:
        log.info("indexed the phones of %d older identities", indexed)


async def cut_ties_of_deregistered(services: Services) -> None:
    """Once at start: accounts an earlier release deregistered leave their groups and ties."""
    tidied = await services.accounts.cut_ties_of_deregistered()
    if tidied:
        log.info("cut the groups and ties of %d accounts deregistered earlier", tidied)


async def checkpoint_audit_log(services: Services) -> None:
    """A checkpoint if the log grew, so the rows no checkpoint vouches for yet are one
    interval's at most."""
    signed = await services.audit_log.checkpoint_if_grown()
    if signed is not None:
        log.info("audit checkpoint of %d rows written", signed.tree_size)


def warn_about_audit_trust(settings: Settings) -> None:
    """Say at start where the audit log's proof is weaker than it looks (docs/audit.md)."""
    if settings.audit_signing_key_in_data_dir:
        log.warning(
            "the audit signing key %s is inside the data dir: whoever can copy or rewrite the "
            "data dir can also sign checkpoints for a rewritten audit log; set "
            "audit_signing_key (or keys_dir) to a path outside it",
            settings.resolved_audit_signing_key,
        )
    if not settings.audit_checkpoint_also:
        log.warning(
            "audit checkpoints are kept only in the data dir: set audit_checkpoint_also to a "
            "folder the database's writers cannot change, or send them to a witness"
        )


def include_routes(app: FastAPI) -> None:
    """The API's and the pages' routes. Their modules are imported here, not with this one:
    building their routes is a fifth of importing it, and every CLI command imports it for
    `running_services` alone."""
    from townhall.api import (
        accounts,
        admin,
        audit,
        audit_log,
        contacts,
        conversations,
        groups,
        media,
        moderation,
        operations,
        public_accounts,
        reports,
        review,
        sanctions,
        search,
    )
    from townhall.api import metrics as metrics_api
    from townhall.web import pages

    # A request is matched against the routes in this order (some hundred routes, microseconds
    # each): the probes and what users do most come first, the staff's desks last. The routes
    # join the app's own list as they are (api_router gives them what inclusion would): FastAPI
    # matches an included router's routes twice a request, each with its context set and reset.
    for routes in (
        operations,
        conversations,
        accounts,
        public_accounts,
        media,
        search,
        contacts,
        groups,
        reports,
        pages,
        metrics_api,
        admin,
        moderation,
        review,
        sanctions,
        audit,
        audit_log,
    ):
        app.router.routes.extend(routes.router.routes)


def build_app(settings: Settings, *, clock: Callable[[], float] = time.time) -> FastAPI:
    limits = settings.limits.to_domain()
    metrics = Metrics(settings.metrics_allowed_from)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        warn_about_audit_trust(settings)
        async with running_services(settings, clock=clock) as services:
            app.state.settings = settings
            app.state.services = services
            services.vitals.watch_batches(metrics.writer_batches.observe)
            # Before the first request: an image is never checked against a bank not yet read.
            # The server's alone (seconds for a million hashes): no command needs it.
            await services.images.load()
            # Once per cluster, on the process that leads (store/leadership.py).
            cluster_work: list[Callable[[], Coroutine[Any, Any, object]]] = [
                partial(
                    every,
                    settings.identity_purge_interval_seconds,
                    partial(purge_identities, services),
                    "identity purge",
                ),
                partial(
                    every,
                    settings.sanction_expiry_interval_seconds,
                    partial(expire_sanctions, services),
                    "sanction expiry",
                ),
                partial(
                    every,
                    settings.audit_checkpoint_interval_seconds,
                    partial(checkpoint_audit_log, services),
                    "writing the audit checkpoint",
                ),
                partial(services.retention.keep_purging, settings.retention_purge_interval_seconds),
                partial(index_phones, services),
                partial(
                    one_round,
                    partial(cut_ties_of_deregistered, services),
                    "cutting the ties of accounts deregistered earlier",
                ),
            ]
            tasks = [
                *(
                    asyncio.create_task(services.leadership.while_leading(work))
                    for work in cluster_work
                ),
                # On every process: its own copy of the lexicon, and corrections owed (each
                # reader is told once however many processes deliver).
                asyncio.create_task(
                    services.moderation.keep_loaded(settings.lexicon_reload_interval_seconds)
                ),
                asyncio.create_task(
                    services.images.keep_loaded(settings.lexicon_reload_interval_seconds)
                ),
                asyncio.create_task(services.corrections.keep_delivering()),
            ]
            if settings.classifiers:
                tasks.append(asyncio.create_task(load_classifiers(services, settings.data_dir)))
            settle_heap()
            log.info("townhall %s ready, data in %s", __version__, settings.data_dir)
            try:
                yield
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                # The rows since the last round, signed: a stopped server leaves none that
                # `townhall audit verify` would find overdue.
                if services.leadership.leading:
                    await one_round(
                        partial(checkpoint_audit_log, services), "the last audit checkpoint"
                    )

    # The API's pages (/docs, /redoc) serve Swagger UI and ReDoc from the package: a regulated
    # provider's network often cannot reach a CDN.
    app = FastAPIOffline(
        # Townhall keeps its own metrics and access log; FastAPI's native OpenTelemetry checked
        # the global providers on every request (about 5 % of an empty /sync's CPU) for none set.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        title="Townhall",
        version=__version__,
        default_response_class=JSONBody,
        lifespan=lifespan,
        generate_unique_id_function=openapi.operation_id,
    )
    errors.install(app)
    app.add_middleware(DirectRoutes, routes_of=app)  # the innermost: see api/direct.py
    app.add_middleware(RequestGuard, max_bytes=limits.max_request_body_bytes)
    if settings.cors_allowed_origins:
        # Bearer tokens, not cookies: no credentials mode, and only the origins named.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_allowed_origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        )
    app.add_middleware(WebSocketGateway, state=app.state, metrics=metrics)
    # The outermost: the request id, the security headers, the metrics and the access log.
    app.add_middleware(Edge, metrics=metrics)
    include_routes(app)
    app.state.metrics = metrics
    # The sockets each account holds open (`limits.sockets_per_user`), refused past the cap.
    app.state.sockets = Holds(limits.sockets_per_user)
    app.state.replays = Replays(
        per_user=settings.ws_replays_per_user, in_all=settings.ws_replays_at_once
    )
    openapi.install(app)

    return app
