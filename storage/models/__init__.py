"""All tables. Each feature area has its own module; importing this package registers them all
on `SQLModel.metadata` (Alembic and the test fixtures rely on that)."""

from storage.models.assessment import (  # noqa: F401
    AssessmentDraft,
    AssessmentRound,
    Criterion,
    EvidenceFile,
    Pledge,
    PledgeSignature,
    ScoringTable,
    SubmissionVersion,
)
from storage.models.core import AuditEvent, Bloc, Invite, Person, Representative, Unit  # noqa: F401
from storage.models.meetings import Meeting, MeetingRsvp  # noqa: F401
from storage.models.outbox import OutboxMessage, ReminderMute  # noqa: F401
from storage.models.voting import BallotBox, Poll  # noqa: F401
from storage.models.zalo import ZaloSeen  # noqa: F401
