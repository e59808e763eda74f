"""Every area's models in one place, for Alembic and the shell."""
from council.accounts.models import ClaimCode, User
from council.activity.models import Activity
from council.audit.models import AuditEntry, AuditHead
from council.ballots.models import Objection, Poll, PollOption, PublishedBallot, RollLine, SecretBallot
from council.concerns.models import Comment, Concern, DepartmentCall, Photo, Support
from council.elections.models import (
    Election,
    ElectionOfficial,
    ElectionRound,
    Nomination,
    NominationSupport,
    PaperBatch,
    PaperEntry,
    RollObjection,
    RoundCandidate,
)
from council.meetings.models import (
    ActionItem,
    AgendaItem,
    Attendance,
    CoBuildingTask,
    Meeting,
    MeetingSeries,
    Minutes,
    MinutesCorrection,
    Rsvp,
)
from council.membership.models import Membership, PartyMember
from council.notifications.models import Notification
from council.owners.models import Ownership
from council.proposals.models import Cosign, Follow, Proposal, ProposalSettings
from council.roles.models import RoleGrant
from council.territory.models import Household, Place

__all__ = [
    "Activity", "ClaimCode", "Comment", "Concern", "DepartmentCall", "Household", "Membership", "Notification",
    "PartyMember", "Photo", "Place", "RoleGrant", "Support", "User", "Proposal", "Cosign", "Follow",
    "ProposalSettings", "Poll", "RollLine", "SecretBallot", "PublishedBallot",
    "Ownership", "Objection", "PollOption", "Meeting", "MeetingSeries", "AgendaItem", "Rsvp",
    "Attendance", "ActionItem", "Minutes", "MinutesCorrection", "CoBuildingTask",
    "Election", "ElectionOfficial", "ElectionRound", "RoundCandidate", "Nomination", "NominationSupport",
    "RollObjection", "PaperBatch", "PaperEntry", "AuditEntry", "AuditHead",
]
