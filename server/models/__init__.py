"""SQLAlchemy models, one module per aggregate; importing this package registers them all."""

from .audit import AuditEvent, AuditHead
from .base import Base
from .campaign import Campaign, CampaignPhase
from .catalogue import Catalogue, CatalogueItem
from .enterprise import Enterprise, QrToken
from .hazard import Hazard, HazardEvent, HazardSource
from .inspection import Inspection, InspectionParticipant, ItemResult, ReviewDecision
from .job import BackgroundJob, JobStatus
from .limits import attach_length_checks
from .paperwork import EnterpriseSubmission, ExpertOpinion, ScoringCriterion, StopOrder, SubmissionRequirement
from .photo import Blob, Photo
from .quarantine import Quarantine
from .reconciliation import PairVerdict, ReconciliationDecision
from .region import Region, RegionLevel, RegionVersion
from .sampling import SamplingAssignment, SamplingDraw
from .sync_state import ChangeCounter, SyncMutation
from .user import Device, DeviceKey, LoginFailure, User, WebSession

# The text limits' CHECK constraints belong to the tables declared above.
attach_length_checks()

__all__ = [
    "AuditEvent",
    "AuditHead",
    "BackgroundJob",
    "Base",
    "Blob",
    "Campaign",
    "CampaignPhase",
    "Catalogue",
    "CatalogueItem",
    "ChangeCounter",
    "Device",
    "DeviceKey",
    "Enterprise",
    "EnterpriseSubmission",
    "ExpertOpinion",
    "Hazard",
    "HazardEvent",
    "HazardSource",
    "Inspection",
    "InspectionParticipant",
    "ItemResult",
    "JobStatus",
    "LoginFailure",
    "PairVerdict",
    "Photo",
    "QrToken",
    "Quarantine",
    "ReconciliationDecision",
    "Region",
    "RegionLevel",
    "RegionVersion",
    "ReviewDecision",
    "SamplingAssignment",
    "SamplingDraw",
    "ScoringCriterion",
    "StopOrder",
    "SubmissionRequirement",
    "SyncMutation",
    "User",
    "WebSession",
]
