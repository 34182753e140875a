"""All models, importable from one place."""

from server.models.assessment import AssessmentResult
from server.models.assignments import Assignment, Draw, assignment_inspector
from server.models.audit import AuditEvent
from server.models.base import Model, utcnow
from server.models.media import Media, Upload, UploadChunk
from server.models.org import County, Occupation, Site, TrainingBase
from server.models.people import ROLES, ApiToken, Teacher, Trainee, User, WebSession
from server.models.plans import (
    CATEGORIES,
    LEVEL_NAMES,
    CrossBaseFlag,
    Enrollment,
    Plan,
    PlanSession,
    PlanVersion,
    TrainingClass,
)
from server.models.review import Rectification, VisitReview
from server.models.security import FailedLogin
from server.models.sync import ChangeLog, SyncLedger, SyncState
from server.models.visits import SignIn, Visit

__all__ = [
    "ApiToken", "AssessmentResult", "Assignment", "AuditEvent", "CATEGORIES", "ChangeLog", "County",
    "CrossBaseFlag",
    "Draw",
    "Enrollment", "FailedLogin", "LEVEL_NAMES", "Media", "Model", "Occupation", "Plan",
    "PlanSession",
    "PlanVersion", "ROLES", "Rectification", "SignIn", "Site", "SyncLedger", "SyncState",
    "Teacher", "Trainee", "TrainingBase", "TrainingClass", "Upload", "UploadChunk", "User", "Visit",
    "VisitReview", "WebSession",
    "assignment_inspector", "utcnow",
]
