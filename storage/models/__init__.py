"""All tables. Each feature area has its own module; importing this package registers them all
on `SQLModel.metadata` (Alembic and the test fixtures rely on that).

Primary keys are declared `id: int = Field(default=None, primary_key=True)`, not `int | None`: the
only moment an id is None is between building a row and the flush that inserts it, and every id the
code passes on (to queries, other rows, callback data) comes from a row that is in the database. With
`int | None` each such use needed a check or an ignore that guarded nothing. The column is the same
either way (a primary key is NOT NULL, autoincrement). Foreign keys that may really be empty stay
`int | None`. Code that needs the id of a row it has just added flushes first."""

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
from storage.models.files import SharedFile, StoredFile, UploadTicket  # noqa: F401
from storage.models.meetings import Meeting, MeetingRsvp  # noqa: F401
from storage.models.outbox import OutboxMessage, ReminderMute  # noqa: F401
from storage.models.voting import BallotBox, Poll  # noqa: F401
from storage.models.zalo import ZaloSeen, ZaloUsage, ZaloUser  # noqa: F401
