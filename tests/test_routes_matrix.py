"""Every page × every person of the test world: 200 inside their scope, 403 outside, sign-in when anonymous.

The scopes are written out by hand from the shape of factories.World.
"""
from __future__ import annotations

import pytest

from tests.factories import ROLE_HOLDERS

ALL = {"street", "community", "grid", "estate", "b1", "b2", "estate2", "b3", "community2", "estate3", "b4"}
BENEATH = {
    "street": ALL,
    "community": {"community", "grid", "estate", "b1", "b2", "estate2", "b3"},
    "grid": {"grid", "estate", "b1", "b2", "estate2", "b3"},
    "estate": {"estate", "b1", "b2"},
    "b1": {"b1"},
    "b3": {"b3"},
    "estate3": {"estate3", "b4"},
}
HOUSEHOLD_BUILDING = {"h11": "b1", "h12": "b1", "h21": "b2", "h31": "b3", "h41": "b4"}

# What each person may do, as (action → places). Members view their own building and estate.
STAFF = {"view", "residents", "activity", "handle"}
MAY = {
    "leader": ({"view", "residents", "activity", "handle"}, "b1"),
    "team": (STAFF, "estate"),
    "secretary": (STAFF | {"party"}, "estate"),
    "gridworker": (STAFF, "grid"),
    "committee": (STAFF, "community"),
    "estate_admin": (STAFF | {"party", "territory", "roles"}, "estate"),
    "community_admin": (STAFF | {"party", "territory", "roles"}, "community"),
    "street_admin": (STAFF | {"party", "territory", "roles"}, "street"),
    "leader3": ({"view", "residents", "activity", "handle"}, "b3"),
    "admin3": (STAFF | {"party", "territory", "roles"}, "estate3"),
}
assert set(MAY) == set(ROLE_HOLDERS)
# A building leader also belongs to the estate their building is in.
ALSO_VIEWS = {"leader": {"estate"}, "leader3": {"estate2"}}
MEMBER_OF = {"resident": ("h11", {"b1", "estate"}), "outsider": ("h41", {"b4", "estate3"})}

# (label, url template, action, place or household key)
PAGES = [
    *[("place", "/places/{%s}" % p, "view", p) for p in ("street", "community", "estate", "b1", "b2", "estate2",
                                                           "estate3", "b4")],
    *[("requests", "/places/{%s}/requests" % p, "residents", p) for p in ("estate", "b1", "b3", "estate3")],
    *[("activity", "/places/{%s}/activity" % p, "activity", p) for p in ("community", "estate", "estate3")],
    *[("edit", "/places/{%s}/edit" % p, "territory", p) for p in ("community", "estate", "b1", "estate3")],
    *[("new building", "/places/{%s}/new/building" % p, "territory", p) for p in ("estate", "estate3")],
    *[("new household", "/places/{%s}/households/new" % p, "territory", p) for p in ("b1", "b4")],
    *[("edit household", "/households/{%s}/edit" % h, "territory", h) for h in ("h11", "h41")],
    *[("household", "/households/{%s}" % h, "household", h) for h in ("h11", "h21", "h41")],
    *[("party", "/places/{%s}/party" % p, "party", p) for p in ("estate", "estate3")],
    *[("roles", "/places/{%s}/roles" % p, "roles", p) for p in ("community", "estate", "b1", "estate3")],
    *[("queue", "/places/{%s}/queue" % p, "handle", p) for p in ("grid", "estate", "b1", "b2", "estate3")],
    *[("concerns", "/places/{%s}/concerns" % p, "view", p) for p in ("estate", "b1", "b2", "estate3")],
    *[("report", "/places/{%s}/concerns/new" % p, "view", p) for p in ("estate", "b1", "b2", "estate3")],
    *[(label, url % p, "handle", p) for label, url in (("ledger", "/places/{%s}/ledger"),
                                                      ("ledger csv", "/places/{%s}/ledger.csv"),
                                                      ("ledger print", "/places/{%s}/ledger/print"))
      for p in ("estate", "estate2", "estate3")],
    *[("this week", "/places/{%s}/this-week" % p, "view", p) for p in ("estate", "estate2", "estate3")],
    *[("this week", "/places/{%s}/this-week" % p, "handle", p) for p in ("community", "community2")],
    *[("proposals", "/places/{%s}/proposals" % p, "view", p) for p in ("estate", "estate2", "estate3")],
    *[("proposal settings", "/places/{%s}/proposals/settings" % p, "territory", p) for p in ("estate", "estate3")],
]


def expected_status(username: str, action: str, key: str) -> int:
    place = HOUSEHOLD_BUILDING.get(key, key)
    if username == "siteadmin":
        return 200
    if username in MAY:
        actions, held_on = MAY[username]
        needed = "residents" if action == "household" else action
        if action == "view" and place in ALSO_VIEWS.get(username, ()):
            return 200
        return 200 if needed in actions and place in BENEATH[held_on] else 403
    if username in MEMBER_OF:
        household, places = MEMBER_OF[username]
        if action == "household":
            return 200 if key == household else 403
        return 200 if action == "view" and place in places else 403
    return 403  # newcomer: signed in, no household, no role


def _url(template: str, world) -> str:
    ids = {**{k: getattr(world, k) for k in ALL}, **{h: getattr(world, h) for h in HOUSEHOLD_BUILDING}}
    return template.format(**ids)


@pytest.mark.parametrize("username", ["siteadmin", *MAY, *MEMBER_OF, "newcomer"])
def test_pages_by_person(world, login, username):
    client = login(username)
    wrong = []
    for label, template, action, key in PAGES:
        response = client.get(_url(template, world))
        if response.status_code != expected_status(username, action, key):
            wrong.append((label, key, response.status_code, expected_status(username, action, key)))
    assert not wrong, wrong


def test_anonymous_is_sent_to_sign_in(world, client):
    for _label, template, _action, _key in PAGES:
        response = client.get(_url(template, world))
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_unknown_ids_are_404(world, login):
    client = login("siteadmin")
    for _label, template, _action, _key in PAGES:
        url = template.split("{")[0] + "999999" + template.split("}")[1]
        assert client.get(url).status_code == 404, url


# Endpoints reached by other tests (POST actions, public pages); every URL rule must be in one list.
COVERED_ELSEWHERE = {
    "static", "main.home", "main.set_language", "accounts.signup", "accounts.login", "accounts.logout",
    "accounts.account", "accounts.my_data", "main.places", "membership.join", "membership.join_building",
    "membership.join_room", "membership.join_household", "membership.mine", "membership.withdraw",
    "membership.decide", "membership.representative", "membership.end", "membership.register",
    "membership.claim_code", "membership.party_add", "membership.party_end", "roles.revoke",
    # tests/test_concerns_flow.py
    "concerns.show", "concerns.support", "concerns.comment", "concerns.accept", "concerns.assign",
    "concerns.decline", "concerns.start", "concerns.resolve", "concerns.follow_up", "concerns.close",
    "concerns.escalate", "concerns.merge", "concerns.call", "concerns.reported",
    "concerns.photo",  # tests/test_concerns_photos.py
    "concerns.stats",  # tests/test_concerns_stats.py (public: no sign-in)
    "notifications.inbox", "notifications.open_one", "notifications.read_all",
    # tests/test_proposals_flow.py (writing is for residents only, so not a "view" page of this matrix)
    "proposals.new", "proposals.edit", "proposals.show", "proposals.publish", "proposals.withdraw",
    "proposals.cosign", "proposals.follow", "proposals.unfollow",
    # tests/test_proposals_discussion.py
    "proposals.comment", "proposals.answer", "proposals.edit_comment", "proposals.hide_comment",
    "proposals.report_comment",
    # tests/test_ballots_votes.py
    "proposals.put_on_agenda", "proposals.open_vote", "proposals.start", "proposals.finish",
    "ballots.show", "ballots.cast", "ballots.ballots", "ballots.proxies", "ballots.roll", "ballots.record_proxy",
    "ballots.clear_proxy", "ballots.check_off", "ballots.paper",
    # tests/test_meetings.py
    "meetings.listing", "meetings.new", "meetings.show", "meetings.add_concern", "meetings.add_proposal",
    "meetings.add_item", "meetings.change_item", "meetings.publish", "meetings.cancel", "meetings.move",
    "meetings.rsvp", "meetings.calendar_file", "meetings.feed", "meetings.console_page", "meetings.check_in",
    "meetings.save_notes", "meetings.add_action", "meetings.actions", "meetings.close_action",
    # tests/test_meetings_minutes.py
    "meetings.draft_minutes", "meetings.edit_minutes", "meetings.minutes_page", "meetings.minutes_print",
    "meetings.suggest_correction", "meetings.decide_correction", "meetings.minutes_step", "meetings.archive",
    "meetings.offer_task", "meetings.cobuilding_list", "meetings.cobuilding_step",
    # tests/test_ballots_publication.py
    "ballots.doors", "ballots.declined", "ballots.participation", "ballots.objections", "ballots.answer_objection",
    "ballots.filing_detail", "ballots.filing_summary", "ballots.filing_print",
    # tests/test_owners_register.py
    "owners.building", "owners.edit", "owners.import_register", "owners.export",
    # tests/test_elections_pages.py
    "elections.index", "elections.show", "elections.roll", "elections.object_roll", "elections.nominations",
    "elections.nominate", "elections.second", "elections.accept", "elections.withdraw", "elections.photo",
    "elections.ballot", "elections.results", "elections.object_result", "elections.answer_objection",
    "elections.notice", "elections.ballots", "elections.ballots_csv", "elections.proxies",
    # tests/test_elections_desk.py
    "elections.call", "elections.officials", "elections.remove_official", "elections.rule_roll",
    "elections.publish_slate", "elections.desk", "elections.check_off", "elections.record_proxy",
    "elections.batches", "elections.batch", "elections.join_batch", "elections.remove_entry", "elections.count",
    "elections.next_round", "elections.finish",
}
IN_THIS_MATRIX = {
    "territory.place", "membership.requests", "activity.place_activity", "territory.edit_place",
    "territory.new_place", "territory.new_household", "territory.edit_household", "membership.household",
    "membership.party", "roles.place_roles", "concerns.queue", "concerns.listing", "concerns.new",
    "concerns.ledger", "concerns.ledger_csv", "concerns.ledger_print", "concerns.this_week",
    "proposals.listing", "proposals.settings",
}


def test_every_url_rule_is_covered(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints - COVERED_ELSEWHERE - IN_THIS_MATRIX == set()
