"""/integrations/tokens/: people make, list and revoke their tokens; admins their
organization's integrations. A new token is shown on the page after it is made, and never
again."""

from __future__ import annotations

import datetime
import re

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from api.models import ApiToken
from api.services.tokens import integration_create
from tests.api.test_tokens import call, make_token
from tests.factories import OrganizationFactory, UserFactory
from tests.inventory.factories import receive_units

LIST = reverse("integrations:token_list")
CREATE = reverse("integrations:token_create")
CREATED = reverse("integrations:token_created")
INTEGRATIONS = reverse("integrations:integration_list")
NEW_INTEGRATION = reverse("integrations:integration_create")
TOKEN_RE = re.compile(r"tp_[0-9a-f]{12}_[A-Za-z0-9_-]{40,}")


def shown_tokens(response) -> list[str]:
    return TOKEN_RE.findall(response.content.decode())


def create_through_page(client, **data):
    data = {"name": "Report script", "scope": "read", "lifetime": "30", **data}
    response = client.post(CREATE, data)
    assert response.status_code == 302 and response.url == CREATED, response.content[:500]
    return client.get(CREATED)


def test_a_new_token_is_shown_on_the_next_page_and_never_again(client, rep):
    client.force_login(rep)
    page = create_through_page(client)
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    (whole,) = set(shown_tokens(page))
    assert call(whole).status_code == 200

    again = client.get(CREATED, follow=True)
    assert again.redirect_chain == [(LIST, 302)]
    assert "shown only once" in again.content.decode()
    assert shown_tokens(again) == []
    assert shown_tokens(client.get(LIST)) == []
    # Nowhere in the database any more: not the token's row, not the session.
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM api_apitoken")
        assert whole.split("_", 2)[2] not in repr(cursor.fetchall())
    for session in Session.objects.all():
        assert whole not in repr(session.get_decoded())


def test_the_list_shows_my_tokens_with_their_terms_and_state(client, rep, distributor):
    client.force_login(rep)
    create_through_page(client, name="Laptop", scope="write", lifetime="90")
    token = ApiToken.objects.get(name="Laptop")
    assert token.user == rep and token.created_by == rep and token.scope == "write"
    assert 89 <= (token.expires_at - token.created_at).days <= 90
    make_token(distributor, name="Dana's own")
    call(make_token(rep, name="Used"))

    page = client.get(LIST).content.decode()
    assert "Laptop" in page and "Read and write" in page and f"tp_{token.prefix}" in page
    assert "Dana&#x27;s own" not in page
    rows = {
        name: row
        for row in page.split('data-testid="token-row"')[1:]
        for name in ("Laptop", "Used")
        if name in row
    }
    assert len(rows) == 2 and page.count('data-testid="token-row"') == 2
    assert "Never" in rows["Laptop"] and "Never" not in rows["Used"]
    assert "Active" in rows["Laptop"] and "Revoke" in rows["Laptop"]


def test_nobody_lists_another_persons_personal_tokens(client, rep, distributor, admin_user):
    make_token(rep, name="Riley script")
    for person in (distributor, admin_user):
        client.force_login(person)
        assert "Riley script" not in client.get(LIST).content.decode()
    assert "Riley script" not in client.get(INTEGRATIONS).content.decode()


def test_revoking_asks_first_then_the_token_stops_working(client, rep):
    client.force_login(rep)
    whole = shown_tokens(create_through_page(client))[0]
    token = ApiToken.objects.get(user=rep)
    url = reverse("integrations:token_revoke", args=[token.pk])
    confirm = client.get(url)
    assert confirm.status_code == 200 and "Revoke token" in confirm.content.decode()
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None  # asking changes nothing
    assert call(whole).status_code == 200

    done = client.post(url, follow=True)
    assert done.redirect_chain == [(LIST, 302)]
    assert "Revoked" in done.content.decode()
    assert call(whole).status_code == 401
    assert 'aria-label="Revoke Report script"' not in done.content.decode()
    # A second click says so and changes nothing.
    assert "already revoked" in client.post(url, follow=True).content.decode()


@pytest.mark.parametrize("who", ["distributor", "admin_user"])
def test_another_persons_token_cannot_be_revoked(client, rep, who, request):
    whole = make_token(rep)
    token = ApiToken.objects.get(user=rep)
    client.force_login(request.getfixturevalue(who))
    url = reverse("integrations:token_revoke", args=[token.pk])
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    assert call(whole).status_code == 200


@pytest.mark.parametrize(
    "data,field",
    [
        ({"name": ""}, "name"),
        ({"scope": "everything"}, "scope"),
        ({"lifetime": "1000"}, "lifetime"),  # over a year: not offered, refused
        ({"lifetime": "soon"}, "lifetime"),
    ],
)
def test_bad_input_puts_the_form_back_and_makes_nothing(client, rep, data, field):
    client.force_login(rep)
    response = client.post(CREATE, {"name": "x", "scope": "read", "lifetime": "30", **data})
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not ApiToken.objects.exists()


def test_lifetimes_over_the_setting_are_not_offered(client, rep, settings):
    settings.API_TOKEN_MAX_DAYS = 30
    client.force_login(rep)
    offered = re.findall(r'<option value="(\d+)"', client.get(CREATE).content.decode())
    assert offered == ["7", "30"]
    response = client.post(CREATE, {"name": "x", "scope": "read", "lifetime": "90"})
    assert response.status_code == 200 and not ApiToken.objects.exists()


# --- Integrations ----------------------------------------------------------------------------


def test_an_admin_creates_an_integration_that_acts_with_the_stated_role(client, admin_user, rep):
    receive_units(admin_user, rep, n=2)
    client.force_login(admin_user)
    response = client.post(
        NEW_INTEGRATION,
        {"name": "ERP sync", "role": "admin", "scope": "read", "lifetime": "365"},
    )
    assert response.status_code == 302 and response.url == CREATED
    page = client.get(CREATED)
    (whole,) = set(shown_tokens(page))
    service = User.objects.get(is_service=True)
    assert service.role == Role.ADMIN and service.name == "ERP sync"
    assert not service.has_usable_password()
    assert len(call(whole).json()["results"]) == 2  # all of the organization's stock

    listing = client.get(INTEGRATIONS).content.decode()
    assert "ERP sync" in listing and shown_tokens(client.get(INTEGRATIONS)) == []
    # It is not the admin's personal token.
    assert "ERP sync" not in client.get(LIST).content.decode()


def test_an_admin_revokes_and_replaces_an_integrations_token(client, admin_user):
    client.force_login(admin_user)
    client.post(
        NEW_INTEGRATION,
        {"name": "ERP", "role": "distributor", "scope": "write", "lifetime": "30"},
    )
    first = shown_tokens(client.get(CREATED))[0]
    service = User.objects.get(is_service=True)
    response = client.post(
        reverse("integrations:integration_token_create", args=[service.pk]),
        {"name": "ERP (new)", "scope": "read", "lifetime": "90"},
    )
    assert response.url == CREATED
    second = shown_tokens(client.get(CREATED))[0]
    token = ApiToken.objects.get(prefix=first.split("_")[1])
    done = client.post(reverse("integrations:token_revoke", args=[token.pk]), follow=True)
    assert done.redirect_chain == [(INTEGRATIONS, 302)]
    assert call(first).status_code == 401
    assert call(second).status_code == 200
    assert ApiToken.objects.get(prefix=second.split("_")[1]).user == service


def test_an_integration_cannot_act_as_a_rep_and_nothing_is_created(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        NEW_INTEGRATION, {"name": "ERP", "role": "rep", "scope": "read", "lifetime": "30"}
    )
    assert response.status_code == 200 and "role" in response.context["form"].errors
    assert not User.objects.filter(is_service=True).exists()


@pytest.mark.parametrize("who", ["rep", "distributor"])
def test_only_admins_reach_integrations(client, db, who, request):
    client.force_login(request.getfixturevalue(who))
    assert client.get(INTEGRATIONS).status_code == 403
    response = client.post(
        NEW_INTEGRATION, {"name": "ERP", "role": "admin", "scope": "read", "lifetime": "30"}
    )
    assert response.status_code == 403
    assert not User.objects.filter(is_service=True).exists()


def test_another_organizations_admin_sees_and_touches_none_of_our_integrations(client, admin_user):
    client.force_login(admin_user)
    client.post(
        NEW_INTEGRATION, {"name": "Our ERP", "role": "admin", "scope": "read", "lifetime": "30"}
    )
    whole = shown_tokens(client.get(CREATED))[0]
    service = User.objects.get(is_service=True)
    token = ApiToken.objects.get(user=service)
    stranger = UserFactory(organization=OrganizationFactory(), admin=True)
    client.force_login(stranger)
    assert "Our ERP" not in client.get(INTEGRATIONS).content.decode()
    assert client.post(reverse("integrations:token_revoke", args=[token.pk])).status_code == 404
    new_token = reverse("integrations:integration_token_create", args=[service.pk])
    assert (
        client.post(new_token, {"name": "x", "scope": "write", "lifetime": "30"}).status_code == 404
    )
    assert ApiToken.objects.count() == 1 and call(whole).status_code == 200


def test_the_integration_list_costs_the_same_queries_for_many_tokens(client, admin_user):
    def add(n):
        for i in range(n):
            integration_create(
                actor=admin_user,
                name=f"ERP {i}",
                role="distributor",
                scope="read",
                expires_at=timezone.now() + datetime.timedelta(days=3),
            )

    client.force_login(admin_user)
    add(2)
    with CaptureQueriesContext(connection) as few:
        assert client.get(INTEGRATIONS).status_code == 200
    add(10)
    with CaptureQueriesContext(connection) as many:
        assert client.get(INTEGRATIONS).status_code == 200
    assert len(many) == len(few)


def test_the_user_menu_links_to_the_tokens(client, rep):
    client.force_login(rep)
    assert f'href="{LIST}"' in client.get(reverse("home")).content.decode()


def test_an_integrations_user_page_says_what_it_is_and_offers_no_invitation(client, admin_user):
    client.force_login(admin_user)
    client.post(
        NEW_INTEGRATION, {"name": "ERP", "role": "admin", "scope": "read", "lifetime": "30"}
    )
    service = User.objects.get(is_service=True)
    service.email = "erp@example.com"
    service.save(update_fields=["email"])
    page = client.get(reverse("accounts:user_detail", args=[service.pk])).content.decode()
    assert 'data-testid="service-user"' in page and "Resend invitation" not in page
