"""The permission matrix: every role × action × inside/outside its place, as a pure rule and through pages.

The expectations below are written out by hand (not derived from council.permissions.RULES), so a
change to the rules that nobody meant shows up here.
"""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from council.permissions import ANONYMOUS, Action, Standing, allowed, may_grant
from council.roles.models import Role

A = Action
EVERY_ACTION = set(Action)
STAFF_BASICS = {A.PLACE_VIEW, A.RESIDENTS_VIEW, A.RESIDENT_REGISTER, A.ACTIVITY_VIEW, A.CONCERN_HANDLE,
                A.CONCERN_RECORD, A.PROPOSAL_MODERATE, A.VOTE_TELLER, A.OWNERS_VIEW}

# What each role may do on the place it holds and beneath it.
ALLOWED_INSIDE: dict[Role, set[Action]] = {
    Role.BUILDING_LEADER: STAFF_BASICS | {A.MEMBERSHIP_DECIDE},
    Role.SERVICE_TEAM: STAFF_BASICS,
    Role.BRANCH_SECRETARY: STAFF_BASICS | {A.PARTY_MANAGE, A.PROPOSAL_ANSWER, A.PROPOSAL_STEER, A.MEETING_RUN},
    Role.GRID_WORKER: STAFF_BASICS,
    Role.COMMITTEE_MEMBER: STAFF_BASICS | {A.OWNERS_MANAGE, A.MEETING_RUN, A.ELECTION_SETUP},
    Role.ADMIN: EVERY_ACTION,
}

# A small territory as lineages: street 1 > community 2 > grid 3 > estate 4 > buildings 5, 6;
# grid 3 > estate 7 > building 8; street 1 > community 9 > estate 10 > building 11.
LINEAGE = {
    1: (1,), 2: (1, 2), 3: (1, 2, 3), 4: (1, 2, 3, 4), 5: (1, 2, 3, 4, 5), 6: (1, 2, 3, 4, 6),
    7: (1, 2, 3, 7), 8: (1, 2, 3, 7, 8), 9: (1, 9), 10: (1, 9, 10), 11: (1, 9, 10, 11),
}
BENEATH = {place: {p for p, lin in LINEAGE.items() if place in lin} for place in LINEAGE}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("held_on", [2, 3, 4, 5])
@pytest.mark.parametrize("action", list(Action))
def test_role_matrix(role, held_on, action):
    """Inside its place (and beneath) a role allows exactly its actions; outside, nothing."""
    standing = Standing(roles=frozenset({(role, held_on)}))
    for target, lineage in LINEAGE.items():
        expected = target in BENEATH[held_on] and action in ALLOWED_INSIDE[role]
        assert allowed(standing, action, lineage) is expected, (role, held_on, action, target)


@pytest.mark.parametrize("action", list(Action))
def test_member_sees_own_building_and_estate_only(action):
    standing = Standing(member_places=frozenset({5, 4}))
    for target, lineage in LINEAGE.items():
        expected = action is A.PLACE_VIEW and target in (4, 5)
        assert allowed(standing, action, lineage) is expected, (action, target)


@pytest.mark.parametrize("action", list(Action))
def test_anonymous_and_site_admin(action):
    for lineage in LINEAGE.values():
        assert not allowed(ANONYMOUS, action, lineage)
        assert allowed(Standing(site_admin=True), action, lineage)
    assert not allowed(ANONYMOUS, action, ())


@given(role=st.sampled_from(list(Role)), held_on=st.sampled_from(sorted(LINEAGE)),
       target=st.sampled_from(sorted(LINEAGE)), action=st.sampled_from(list(Action)))
def test_roles_never_reach_up_or_sideways(role, held_on, target, action):
    """A role never counts on a place above or beside the one it is held on."""
    standing = Standing(roles=frozenset({(role, held_on)}))
    if held_on not in LINEAGE[target]:
        assert not allowed(standing, action, LINEAGE[target])


@given(roles=st.sets(st.tuples(st.sampled_from(list(Role)), st.sampled_from(sorted(LINEAGE))), max_size=4),
       target=st.sampled_from(sorted(LINEAGE)), action=st.sampled_from(list(Action)))
def test_more_roles_never_allow_less(roles, target, action):
    """Adding a role can only widen what a person may do."""
    base = Standing(roles=frozenset(roles))
    wider = Standing(roles=frozenset(roles | {(Role.GRID_WORKER, 3)}))
    if allowed(base, action, LINEAGE[target]):
        assert allowed(wider, action, LINEAGE[target])


def test_admins_grant_admin_only_from_strictly_above():
    estate_admin = Standing(roles=frozenset({(Role.ADMIN, 4)}))
    community_admin = Standing(roles=frozenset({(Role.ADMIN, 2)}))
    assert may_grant(estate_admin, Role.BUILDING_LEADER, LINEAGE[5])
    assert may_grant(estate_admin, Role.SERVICE_TEAM, LINEAGE[4])
    assert not may_grant(estate_admin, Role.ADMIN, LINEAGE[4])
    assert not may_grant(estate_admin, Role.BUILDING_LEADER, LINEAGE[8])
    assert may_grant(community_admin, Role.ADMIN, LINEAGE[4])
    assert not may_grant(community_admin, Role.ADMIN, LINEAGE[2])
    assert may_grant(Standing(site_admin=True), Role.ADMIN, LINEAGE[1])
    assert not may_grant(Standing(roles=frozenset({(Role.BRANCH_SECRETARY, 4)})), Role.SERVICE_TEAM, LINEAGE[4])
