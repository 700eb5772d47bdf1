"""SQLAlchemy models, one module per aggregate; importing this package registers them all."""

from .audit import AuditEvent
from .base import Base
from .campaign import Campaign, CampaignPhase
from .catalogue import Catalogue, CatalogueItem
from .enterprise import Enterprise, QrToken
from .hazard import Hazard, HazardEvent, HazardSource
from .inspection import Inspection, InspectionParticipant, ItemResult, ReviewDecision
from .photo import Blob, Photo
from .quarantine import Quarantine
from .region import Region, RegionLevel
from .sampling import SamplingAssignment, SamplingDraw
from .sync_state import ChangeCounter, SyncMutation
from .user import Device, DeviceKey, User

__all__ = [
    "AuditEvent",
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
    "Hazard",
    "HazardEvent",
    "HazardSource",
    "Inspection",
    "InspectionParticipant",
    "ItemResult",
    "Photo",
    "QrToken",
    "Quarantine",
    "Region",
    "RegionLevel",
    "ReviewDecision",
    "SamplingAssignment",
    "SamplingDraw",
    "SyncMutation",
    "User",
]
