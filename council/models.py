"""Every area's models in one place, for Alembic and the shell."""
from council.accounts.models import ClaimCode, User
from council.activity.models import Activity
from council.membership.models import Membership, PartyMember
from council.roles.models import RoleGrant
from council.territory.models import Household, Place

__all__ = ["Activity", "ClaimCode", "Household", "Membership", "PartyMember", "Place", "RoleGrant", "User"]
