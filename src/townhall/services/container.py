"""The services one process runs, built by app.py and handed to every interface."""

from __future__ import annotations

from dataclasses import dataclass

from townhall.bus.base import Bus
from townhall.domain.limits import Limits
from townhall.domain.policy import PolicyPack
from townhall.services.accounts import AccountService
from townhall.services.appeals import Appeals
from townhall.services.audit import AuditLog
from townhall.services.classifiers import ClassifierStage
from townhall.services.contacts import Contacts
from townhall.services.corrections import Corrections
from townhall.services.enforcement import Enforcement
from townhall.services.group_admin import GroupAdmin
from townhall.services.group_links import JoinLinks
from townhall.services.groups import Groups
from townhall.services.identity import IdentityService
from townhall.services.image_bank import ImageBank
from townhall.services.intake import CaseIntake
from townhall.services.live_posts import LiveFollowers
from townhall.services.media import MediaService
from townhall.services.messaging import MessagingService
from townhall.services.moderation import ContentCheck
from townhall.services.posts import PostService
from townhall.services.public_accounts import PublicAccountService
from townhall.services.reach import ReachLedger
from townhall.services.readiness import Readiness
from townhall.services.regulator import RegulatorService
from townhall.services.reports import ReportService
from townhall.services.rescan import Rescan
from townhall.services.retention import Retention
from townhall.services.review import ReviewDesk
from townhall.services.sync import SyncService
from townhall.services.trainings import Trainings
from townhall.services.vitals import Vitals
from townhall.store.leadership import Leadership


@dataclass(frozen=True)
class Services:
    accounts: AccountService
    identity: IdentityService
    messaging: MessagingService
    groups: Groups
    group_admin: GroupAdmin
    join_links: JoinLinks
    sync: SyncService
    public_accounts: PublicAccountService
    posts: PostService
    media: MediaService
    reach: ReachLedger
    regulator: RegulatorService
    live_posts: LiveFollowers
    moderation: ContentCheck
    images: ImageBank
    intake: CaseIntake
    review: ReviewDesk
    corrections: Corrections
    enforcement: Enforcement
    appeals: Appeals
    reports: ReportService
    rescan: Rescan
    trainings: Trainings
    classifiers: ClassifierStage
    bus: Bus
    limits: Limits
    pack: PolicyPack
    audit_log: AuditLog
    retention: Retention
    leadership: Leadership
    readiness: Readiness
    vitals: Vitals
    contacts: Contacts
