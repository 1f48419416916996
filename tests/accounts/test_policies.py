"""The role rules as tables: who acts for, and who answers for, which holder."""

import pytest

from accounts.models import Role
from accounts.policies import (
    Actor,
    acts_for,
    answers_for,
    can_manage_users,
    event_rep_scope,
    holder_ids_in_scope,
    on_behalf_of,
    spoken_for_ids,
)

ORG, OTHER_ORG = 1, 2
ADMIN, DANA, RILEY, SAM, DREW, CASEY = 10, 20, 21, 22, 30, 31


def actor(who: str, pooling: bool = False, *, active: bool = True) -> Actor:
    table = {
        "admin": Actor(id=ADMIN, organization_id=ORG, role=Role.ADMIN, is_active=active),
        "dana": Actor(
            id=DANA,
            organization_id=ORG,
            role=Role.DISTRIBUTOR,
            rep_ids=frozenset({RILEY, SAM}),
            pooling_enabled=pooling,
            is_active=active,
        ),
        "riley": Actor(
            id=RILEY,
            organization_id=ORG,
            role=Role.REP,
            distributor_id=DANA,
            pooling_enabled=pooling,
            is_active=active,
        ),
        "loner": Actor(id=99, organization_id=ORG, role=Role.REP, pooling_enabled=pooling),
    }
    return table[who]


HOLDERS = {
    "org custody": None,
    "admin": ADMIN,
    "dana": DANA,
    "riley": RILEY,
    "sam": SAM,
    "drew": DREW,
    "casey": CASEY,
}

# (actor, pooling, holder) -> acts_for
ACTS_FOR = [
    ("admin", False, "org custody", True),
    ("admin", False, "dana", True),
    ("admin", False, "casey", True),
    ("dana", False, "dana", True),
    ("dana", False, "riley", True),
    ("dana", False, "sam", True),
    ("dana", False, "drew", False),
    ("dana", False, "casey", False),
    ("dana", False, "org custody", False),
    ("riley", False, "riley", True),
    ("riley", False, "dana", False),
    ("riley", True, "dana", True),
    ("riley", True, "sam", False),
    ("riley", True, "drew", False),
    ("riley", True, "org custody", False),
    ("loner", True, "dana", False),
]


@pytest.mark.parametrize(("who", "pooling", "holder", "expected"), ACTS_FOR)
def test_acts_for_table(who, pooling, holder, expected):
    assert (
        acts_for(actor=actor(who, pooling), holder_id=HOLDERS[holder], holder_org_id=ORG)
        is expected
    )


@pytest.mark.parametrize("who", ["admin", "dana", "riley"])
def test_nobody_acts_for_another_organizations_holders(who):
    a = actor(who, pooling=True)
    assert acts_for(actor=a, holder_id=a.id, holder_org_id=OTHER_ORG) is False
    assert answers_for(actor=a, holder_id=a.id, holder_org_id=OTHER_ORG) is False


ANSWERS_FOR = [
    ("admin", False, "org custody", True),
    ("admin", False, "riley", True),
    ("dana", False, "riley", True),
    ("dana", False, "dana", True),
    ("dana", False, "casey", False),
    ("riley", False, "riley", True),
    # Pooling lets a rep use the distributor's stock; it does not make them answer for her.
    ("riley", True, "dana", False),
    ("riley", True, "sam", False),
    ("riley", True, "org custody", False),
]


@pytest.mark.parametrize(("who", "pooling", "holder", "expected"), ANSWERS_FOR)
def test_answers_for_table(who, pooling, holder, expected):
    result = answers_for(actor=actor(who, pooling), holder_id=HOLDERS[holder], holder_org_id=ORG)
    assert result is expected


@pytest.mark.parametrize(
    ("who", "pooling", "expected"),
    [
        ("admin", False, None),
        ("dana", False, {DANA, RILEY, SAM}),
        ("dana", True, {DANA, RILEY, SAM}),
        ("riley", False, {RILEY}),
        ("riley", True, {RILEY, DANA}),
        ("loner", True, {99}),
    ],
)
def test_scope_table(who, pooling, expected):
    scope = holder_ids_in_scope(actor=actor(who, pooling))
    assert scope == (None if expected is None else frozenset(expected))


def test_deactivated_users_act_for_nobody():
    assert holder_ids_in_scope(actor=actor("riley", active=False)) == frozenset()
    assert acts_for(actor=actor("admin", active=False), holder_id=DANA, holder_org_id=ORG) is False
    assert can_manage_users(actor=actor("admin", active=False)) is False


@pytest.mark.parametrize(
    ("who", "holder", "expected"),
    [
        ("dana", "riley", RILEY),  # distributor acting for a rep
        ("admin", "riley", RILEY),
        ("dana", "dana", None),  # acting on own stock
        ("riley", "dana", None),  # a rep using the pool acts for themselves
        ("admin", "org custody", None),
    ],
)
def test_on_behalf_of_table(who, holder, expected):
    assert on_behalf_of(actor=actor(who, True), holder_id=HOLDERS[holder]) == expected


@pytest.mark.parametrize(("who", "expected"), [("admin", True), ("dana", False), ("riley", False)])
def test_only_admins_manage_users(who, expected):
    assert can_manage_users(actor=actor(who)) is expected


@pytest.mark.parametrize(
    ("who", "pooling", "active", "expected"),
    [
        ("admin", False, True, None),
        ("dana", False, True, {DANA, RILEY, SAM}),
        # Pooling shares the distributor's stock, never her events or her voice.
        ("riley", True, True, {RILEY}),
        ("loner", False, True, {99}),
        ("admin", False, False, set()),
        ("dana", False, False, set()),
        ("riley", True, False, set()),
    ],
)
def test_event_rep_scope_is_the_people_one_speaks_for(who, pooling, active, expected):
    subject = actor(who, pooling, active=active)
    scope = event_rep_scope(actor=subject)
    assert scope == (None if expected is None else frozenset(expected))
    assert spoken_for_ids(actor=subject) == scope


def test_nobody_of_no_organization_has_an_event_scope():
    assert event_rep_scope(actor=Actor(id=5, organization_id=None, role=Role.ADMIN)) == frozenset()
