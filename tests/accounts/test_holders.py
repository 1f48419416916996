"""The holder type-ahead endpoint and HolderField: the same scope decides who is offered and who
is accepted; another organization never appears; a rep gets only what they may use."""

import pytest
from django import forms
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.fields import HolderField
from accounts.selectors import HolderPurpose
from tests.factories import DistributorFactory, RepFactory, UserFactory

URL = "/users/holders/"


@pytest.fixture
def people(org, distributor, rep, admin_user):
    """dana-like distributor with `rep` assigned, another distributor with a rep, an unassigned
    rep, a deactivated rep, and a same-named rep in another organization."""
    other = DistributorFactory(organization=org, username="drew", display_name="Drew Dist")
    return {
        "distributor": distributor,
        "rep": rep,
        "admin": admin_user,
        "other": other,
        "other_rep": RepFactory(
            organization=org, username="casey", display_name="Casey C", assigned_to=other
        ),
        "free": RepFactory(organization=org, username="frida", display_name="Frida Free"),
        "gone": RepFactory(
            organization=org, username="gone", display_name="Gone Rep", is_active=False
        ),
        "stranger": RepFactory(username="frida2", display_name="Frida Elsewhere"),
    }


def _ids(client, user, **params):
    client.force_login(user)
    response = client.get(URL, params)
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def _pks(*users):
    return {u.pk for u in users}


def test_recipients_are_everyone_active_in_the_organization_and_nobody_else(client, people):
    p = people
    everyone = _pks(p["distributor"], p["rep"], p["other"], p["other_rep"], p["free"])
    for who in ("rep", "distributor", "admin"):
        assert _ids(client, p[who], purpose="recipient") == everyone, who
    assert _ids(client, p["rep"], purpose="recipient", exclude=p["rep"].pk) == everyone - _pks(
        p["rep"]
    )


def test_custodians_are_the_holders_the_user_acts_for(client, people, pooled):
    p = people
    assert _ids(client, p["rep"], purpose="custodian") == _pks(p["rep"], p["distributor"])
    assert _ids(client, p["distributor"], purpose="custodian") == _pks(p["distributor"], p["rep"])
    assert _ids(client, p["admin"], purpose="custodian") == _pks(
        p["distributor"], p["rep"], p["other"], p["other_rep"], p["free"]
    )


def test_a_rep_without_pooling_picks_only_themselves_as_custodian(client, people):
    assert _ids(client, people["rep"], purpose="custodian") == _pks(people["rep"])


def test_reps_are_a_distributors_own_reps_and_reps_pick_none(client, people):
    p = people
    assert _ids(client, p["distributor"], purpose="rep") == _pks(p["rep"])
    assert _ids(client, p["admin"], purpose="rep") == _pks(p["rep"], p["other_rep"], p["free"])
    assert _ids(client, p["rep"], purpose="rep") == set()


def test_representatives_are_whose_events_one_may_see_pooling_or_not(client, people, pooled):
    p = people
    assert _ids(client, p["rep"], purpose="representative") == _pks(p["rep"])
    assert _ids(client, p["distributor"], purpose="representative") == _pks(
        p["distributor"], p["rep"]
    )
    assert _ids(client, p["admin"], purpose="representative") == _pks(
        p["distributor"], p["rep"], p["other"], p["other_rep"], p["free"]
    )


def test_only_admins_get_unassigned_reps(client, people):
    assert _ids(client, people["admin"], purpose="unassigned_rep") == _pks(people["free"])
    assert _ids(client, people["distributor"], purpose="unassigned_rep") == set()


def test_search_matches_name_or_username_and_puts_prefix_matches_first(client, people, org):
    RepFactory(organization=org, username="zed", display_name="Alfrida Z")
    client.force_login(people["admin"])
    rows = client.get(URL, {"purpose": "recipient", "q": "frida"}).json()["results"]
    assert [r["name"] for r in rows] == ["Frida Free", "Alfrida Z"]
    assert rows[0] == {
        "id": people["free"].pk,
        "name": "Frida Free",
        "username": "frida",
        "role": "Sales rep",
        "label": "Frida Free (frida)",
    }


def test_the_endpoint_answers_at_most_twenty_in_a_fixed_number_of_queries(client, people, org):
    client.force_login(people["admin"])
    client.get(URL, {"purpose": "recipient"})

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            rows = client.get(URL, {"purpose": "recipient", "q": "bulk"}).json()["results"]
        return len(ctx), len(rows)

    RepFactory.create_batch(3, organization=org, display_name="Bulk Rep")
    few = queries()
    RepFactory.create_batch(30, organization=org, display_name="Bulk Rep")
    assert queries() == (few[0], 20)
    assert few[1] == 3


@pytest.mark.parametrize(
    "params", [{}, {"purpose": "everyone"}, {"purpose": "recipient", "exclude": "x", "q": "\x00"}]
)
def test_bad_parameters_get_a_clear_answer(client, people, params):
    client.force_login(people["rep"])
    response = client.get(URL, params)
    if params.get("purpose") == "recipient":
        assert response.status_code == 200
    else:
        assert response.status_code == 400
        assert "purpose=" in response.json()["error"]


class PickForm(forms.Form):
    holder = HolderField(purpose=HolderPurpose.CUSTODIAN)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["holder"].set_user(user)


def _pick(user, text):
    form = PickForm({"holder": text}, user=user)
    return form.cleaned_data["holder"] if form.is_valid() else form.errors["holder"][0]


def test_holder_field_resolves_text_to_exactly_one_person_in_scope(people, pooled):
    p = people
    dist, rep = p["distributor"], p["rep"]
    dist.display_name = "Dana Dist"
    dist.save(update_fields=["display_name"])
    assert _pick(rep, f"{dist.name} ({dist.username})") == dist
    assert _pick(rep, rep.username.upper()) == rep
    assert _pick(rep, str(dist.pk)) == dist
    assert _pick(rep, "ana d") == dist  # part of the name, one match
    assert _pick(rep, "dana dist") == dist
    # Outside the rep's scope: same organization, another organization, deactivated.
    for outsider in (p["other"], p["free"], p["stranger"], p["gone"]):
        for text in (outsider.username, str(outsider.pk), f"x ({outsider.username})"):
            assert "Nobody you may pick here matches" in _pick(rep, text), (outsider, text)
    assert _pick(rep, "") == "Type a name or username."


@pytest.mark.postgres
def test_holder_field_drops_control_characters_rather_than_sending_a_nul_to_the_database(
    people,
):
    """PostgreSQL refuses a NUL in text (a 500 on /inventory/?custodian=%00x, which
    schemathesis found through the API)."""
    admin = people["admin"]
    assert _pick(admin, "fri\x00da") == people["free"]
    assert "Nobody you may pick here matches" in _pick(admin, "\x00x")


def test_holder_field_names_a_few_matches_when_the_text_is_ambiguous(people, org):
    for n in range(7):
        RepFactory(organization=org, username=f"pat{n}", display_name=f"Pat {n}")
    message = _pick(people["admin"], "pat")
    assert message.startswith("“pat” matches several people: Pat 0 (pat0), Pat 1 (pat1)")
    assert message.count("(pat") == 5 and "…" in message


def test_holder_field_validates_in_a_fixed_number_of_queries(people, org):
    admin = people["admin"]
    _pick(admin, "frida")  # caches the actor
    with CaptureQueriesContext(connection) as ctx:
        assert _pick(admin, "Frida Free (frida)") == people["free"]
    assert len(ctx) == 1
    RepFactory.create_batch(30, organization=org, display_name="Many")
    with CaptureQueriesContext(connection) as ctx:
        _pick(admin, "many")
    assert len(ctx) == 2


def test_holder_field_refuses_an_unknown_purpose():
    with pytest.raises(ValueError):
        HolderField(purpose="anyone")


def test_another_organizations_admin_sees_none_of_this_one(client, people):
    outsider_admin = UserFactory(admin=True)
    client.force_login(outsider_admin)
    rows = client.get(URL, {"purpose": "custodian", "q": "frida"}).json()["results"]
    assert people["free"].pk not in {r["id"] for r in rows}
    assert reverse("accounts:holder_search") == URL
