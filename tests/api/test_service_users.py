"""An integration's service user acts through its tokens only: it never signs in, is never
invited or sent a password reset, and is never offered as a holder or an @mention."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import services as account_services
from accounts.fields import HolderField
from accounts.models import Role
from accounts.selectors import HolderPurpose, actor_for, holders_for_org
from api.services.tokens import integration_create
from events.selectors import mention_candidates, representative_choices
from events.services.comments import comment_add
from tests.events.factories import open_event
from tests.factories import PASSWORD, RepFactory
from tests.taskqueue import run_worker


def integration(admin, role, name="Erpnext Sync"):
    token, _ = integration_create(
        actor=admin,
        name=name,
        role=role,
        scope="write",
        expires_at=timezone.now() + datetime.timedelta(days=30),
    )
    return token.user


@pytest.fixture
def services_and_people(admin_user, distributor, rep):
    """A service user of each role, and a person whose name starts the same way."""
    erin = RepFactory(organization=admin_user.organization, username="erin", display_name="Erin")
    return {
        "admin_svc": integration(admin_user, Role.ADMIN),
        "dist_svc": integration(admin_user, Role.DISTRIBUTOR),
        "erin": erin,
    }


# --- Never picked --------------------------------------------------------------------------


@pytest.mark.parametrize("purpose", HolderPurpose.ALL)
def test_the_holder_type_ahead_never_offers_a_service_user(
    client, admin_user, services_and_people, purpose
):
    client.force_login(admin_user)
    response = client.get(reverse("accounts:holder_search"), {"purpose": purpose, "q": "er"})
    offered = {row["username"] for row in response.json()["results"]}
    assert services_and_people["dist_svc"].username not in offered
    assert services_and_people["admin_svc"].username not in offered
    assert "erin" in offered  # the same search finds the person


@pytest.mark.parametrize("purpose", [HolderPurpose.RECIPIENT, HolderPurpose.CUSTODIAN])
def test_typing_a_service_users_exact_username_picks_nobody(
    admin_user, services_and_people, purpose
):
    service = services_and_people["dist_svc"]
    field = HolderField(purpose=purpose, user=admin_user)
    with pytest.raises(ValidationError) as refused:
        field.clean(service.username)
    assert refused.value.code == "not_found"
    assert field.clean("erin") == services_and_people["erin"]


def test_holders_and_event_representatives_are_people_only(
    admin_user, distributor, services_and_people
):
    holders = set(holders_for_org(organization_id=admin_user.organization_id))
    assert services_and_people["dist_svc"] not in holders
    assert services_and_people["erin"] in holders and distributor in holders
    # The service distributor itself, as an actor, is offered nobody (not even itself).
    assert list(representative_choices(actor=actor_for(services_and_people["dist_svc"]))) == []


def test_the_mention_autocomplete_and_a_mention_never_reach_a_service_user(
    client, admin_user, rep, services_and_people
):
    service = services_and_people["admin_svc"]  # an admin: it could see every event
    event = open_event(rep)
    client.force_login(rep)
    url = reverse("events:mention_autocomplete", args=[event.pk])
    offered = {row["username"] for row in client.get(url, {"q": "svc"}).json()["results"]}
    assert offered == set()
    assert service not in mention_candidates(event=event, prefix="")
    assert admin_user in mention_candidates(event=event, prefix="")

    with pytest.raises(ValidationError, match=f"no user @{service.username}"):
        comment_add(actor=rep, event=event, body=f"Billing: @{service.username} please check")
    assert service.notifications.count() == 0


# --- Never signs in --------------------------------------------------------------------------


def _sign_in(username, password):
    client = Client()
    response = client.post(reverse("login"), {"username": username, "password": password})
    return response, client


def test_a_service_user_has_no_usable_password_and_the_login_page_refuses_it(
    admin_user, services_and_people
):
    service = services_and_people["admin_svc"]
    assert not service.has_usable_password()
    response, client = _sign_in(service.username, "")
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    # Even with a password set on it behind the app's back (`manage.py changepassword`).
    service.set_password(PASSWORD)
    service.save(update_fields=["password"])
    response, client = _sign_in(service.username, PASSWORD)
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # The same password signs a person in.
    response, client = _sign_in(services_and_people["erin"].username, PASSWORD)
    assert response.status_code == 302 and "_auth_user_id" in client.session


def test_a_service_user_is_never_sent_a_password_link(
    client, admin_user, services_and_people, mailoutbox
):
    service = services_and_people["dist_svc"]
    # An admin typed an address on its user page: still no invitation, no reset.
    account_services.user_update(
        actor=admin_user,
        user=service,
        display_name=service.display_name,
        email="erp@example.com",
        role=service.role,
    )
    service.refresh_from_db()
    with pytest.raises(ValidationError, match="never signs in"):
        account_services.user_invite(actor=admin_user, user=service)
    client.post(reverse("password_reset"), {"email": "erp@example.com"})
    run_worker()
    assert mailoutbox == []


def test_a_service_users_role_stays_admin_or_distributor(admin_user, services_and_people):
    service = services_and_people["admin_svc"]
    with pytest.raises(ValidationError, match="admin or as a distributor"):
        account_services.user_update(
            actor=admin_user, user=service, display_name="x", email="", role=Role.REP
        )


def test_an_admin_integration_does_not_count_as_the_organizations_last_admin(
    admin_user, services_and_people
):
    # The only person who is an admin may not step down, though an admin integration exists.
    with pytest.raises(ValidationError, match="only active admin"):
        account_services.user_update(
            actor=admin_user, user=admin_user, display_name="", email="", role=Role.REP
        )
    # The integration itself may be turned off.
    account_services.user_set_active(
        actor=admin_user, user=services_and_people["admin_svc"], active=False
    )
