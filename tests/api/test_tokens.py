"""API tokens: stored as a digest, refused once revoked, expired or their user is deactivated,
never more than their user has now, read-only tokens never write, last use written at most once
a minute, and the app's own JavaScript keeps its session with CSRF."""

from __future__ import annotations

import datetime
import hashlib

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notification, Role
from accounts.selectors import actor_for
from accounts.services import group_unassign_rep, user_set_active, user_update
from api.models import ApiToken, TokenScope
from api.policies import can_revoke_token
from api.services.tokens import (
    integration_create,
    integration_token_create,
    token_create,
    token_revoke,
)
from tests.factories import DistributorFactory, OrganizationFactory, RepFactory, UserFactory
from tests.inventory.factories import ProductFactory, receive_units

UNITS = reverse("api:unit_list")


def soon(days=30):
    return timezone.now() + datetime.timedelta(days=days)


def make_token(user, scope=TokenScope.READ, **kwargs):
    _, whole = token_create(
        actor=user, name=kwargs.pop("name", "script"), scope=scope, expires_at=soon(), **kwargs
    )
    return whole


def call(token, path=UNITS, method="get", client=None, **params):
    client = client or Client()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if method == "get":
        return client.get(path, params, **auth)
    return getattr(client, method)(path, params, content_type="application/json", **auth)


def unit_ids(token, **params) -> set[int]:
    response = call(token, limit=200, **params)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["next"] is None, "the test world fits in one page"
    return {row["id"] for row in body["results"]}


def assert_refused(response):
    assert response.status_code == 401, response.content
    assert response.json()["error"]["code"] == "authentication_failed"
    assert response["WWW-Authenticate"] == "Bearer"


# --- Stored hashed, shown once -----------------------------------------------------------------


def test_the_database_keeps_a_digest_of_the_secret_never_the_token(rep):
    token, whole = token_create(actor=rep, name="script", scope="read", expires_at=soon())
    secret = whole.removeprefix(f"tp_{token.prefix}_")
    assert len(secret) >= 40  # 256 random bits
    assert token.digest == hashlib.sha256(secret.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM api_apitoken")
        stored = repr(cursor.fetchall())
    assert secret not in stored and whole not in stored
    assert call(whole).status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        "Bearer tp_000000000000_nope",  # no such prefix
        "Bearer tp_short",  # not the shape of a token
        "Bearer abc",
        "Bearer tp_../../_x",  # a prefix that is not alphanumeric
        "Bearer",  # no token at all
        "Bearer a b",
    ],
)
def test_a_malformed_or_unknown_token_is_a_401_in_the_one_error_shape(rep, header):
    response = Client().get(UNITS, HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert set(response.json()) == {"error"}


def test_the_right_prefix_with_a_wrong_secret_is_refused(rep):
    whole = make_token(rep)
    forged = whole[:-4] + ("AAAA" if not whole.endswith("AAAA") else "BBBB")
    assert_refused(call(forged))
    assert call(whole).status_code == 200


# --- Revoked, expired, deactivated -------------------------------------------------------------


def test_a_revoked_token_is_refused_at_its_next_call(rep):
    token, whole = token_create(actor=rep, name="script", scope="read", expires_at=soon())
    assert call(whole).status_code == 200
    assert token_revoke(actor=rep, token=token) is True
    assert_refused(call(whole))
    # A second revocation changes nothing and keeps the first time.
    revoked_at = ApiToken.objects.get(pk=token.pk).revoked_at
    assert token_revoke(actor=rep, token=token) is False
    assert ApiToken.objects.get(pk=token.pk).revoked_at == revoked_at


def test_an_expired_token_is_refused(rep):
    token, whole = token_create(actor=rep, name="script", scope="read", expires_at=soon())
    assert call(whole).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert_refused(call(whole))


def test_a_deactivated_users_tokens_are_refused_and_work_again_when_reactivated(rep, admin_user):
    whole = make_token(rep)
    user_set_active(actor=admin_user, user=rep, active=False)
    assert_refused(call(whole))
    user_set_active(actor=admin_user, user=rep, active=True)
    assert call(whole).status_code == 200


def test_a_deactivated_service_users_tokens_are_refused(admin_user):
    token, whole = integration_create(
        actor=admin_user, name="ERP", role=Role.ADMIN, scope="read", expires_at=soon()
    )
    assert call(whole).status_code == 200
    user_set_active(actor=admin_user, user=token.user, active=False)
    assert_refused(call(whole))


# --- Never more than the user has, now ---------------------------------------------------------


@pytest.fixture
def stock(pooled, distributor, rep, admin_user):
    """The rep's own units, the pooled distributor's, another group's rep's, organization
    custody's; a second organization's."""
    org = rep.organization
    product = ProductFactory(organization=org)
    other_distributor = DistributorFactory(organization=org)
    casey = RepFactory(organization=org, assigned_to=other_distributor)
    ids = {}
    for name, holder in (
        ("rep", rep),
        ("pool", distributor),
        ("casey", casey),
        ("org", None),
    ):
        units = receive_units(admin_user, holder, n=2, product=product)
        ids[name] = {u.pk for u in units}
    receive_units(None, UserFactory(organization=OrganizationFactory()), n=2)
    return ids


def test_a_reps_token_sees_exactly_the_reps_scope_and_loses_the_pool_when_removed(
    stock, rep, distributor, admin_user
):
    whole = make_token(rep, TokenScope.WRITE)
    assert unit_ids(whole) == stock["rep"] | stock["pool"]
    group_unassign_rep(actor=admin_user, group=distributor.distributor_group, rep=rep)
    assert unit_ids(whole) == stock["rep"]


def test_a_distributors_token_sees_her_stock_and_her_reps(stock, rep, distributor):
    whole = make_token(distributor)
    assert unit_ids(whole) == stock["rep"] | stock["pool"]


def test_an_integrations_role_change_takes_effect_at_the_next_call(stock, admin_user):
    token, whole = integration_create(
        actor=admin_user, name="ERP", role=Role.ADMIN, scope="read", expires_at=soon()
    )
    everything = stock["rep"] | stock["pool"] | stock["casey"] | stock["org"]
    assert unit_ids(whole) == everything
    user_update(
        actor=admin_user, user=token.user, display_name="ERP", email="", role=Role.DISTRIBUTOR
    )
    assert unit_ids(whole) == set()  # a distributor with no reps and no stock of its own


def test_another_organizations_token_sees_none_of_it(stock):
    stranger = UserFactory(organization=OrganizationFactory(), admin=True)
    whole = make_token(stranger)
    assert unit_ids(whole) & set().union(*stock.values()) == set()
    unit = next(iter(stock["rep"]))
    response = call(whole, reverse("api:unit_detail", args=[unit]))
    assert response.status_code == 404


# --- Read-only never writes --------------------------------------------------------------------

MARK_READ = reverse("api:notification_read")


def unread(user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


@pytest.fixture
def notified(rep):
    """A rep with two unread notifications: marking them read is a write anyone may make."""
    for n in range(2):
        Notification.objects.create(user=rep, kind="mention", summary=f"Note {n}")
    return rep


def test_a_read_only_token_reads_but_any_write_is_a_403(notified):
    read_only = make_token(notified, TokenScope.READ)
    assert call(read_only).status_code == 200
    assert call(read_only, reverse("api:notification_list")).status_code == 200
    response = call(read_only, MARK_READ, method="post", all=True)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert "read-only" in response.json()["error"]["message"]
    assert unread(notified) == 2
    for method in ("put", "patch", "delete"):  # refused before the method is even looked up
        assert call(read_only, MARK_READ, method=method).status_code == 403, method


def test_a_read_and_write_token_writes(notified):
    read_write = make_token(notified, TokenScope.WRITE)
    response = call(read_write, MARK_READ, method="post", all=True)
    assert response.status_code == 200 and response.json() == {"marked": 2}
    assert unread(notified) == 0


# --- Last use: at most one write a minute ------------------------------------------------------


def _token_updates(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].startswith('UPDATE "api_apitoken"')]


def test_last_used_is_written_once_for_two_calls_in_a_minute_then_again_after_it(rep):
    token, whole = token_create(actor=rep, name="script", scope="read", expires_at=soon())
    assert token.last_used_at is None
    with CaptureQueriesContext(connection) as first:
        call(whole)
    assert len(_token_updates(first.captured_queries)) == 1
    used = ApiToken.objects.get(pk=token.pk).last_used_at
    assert used is not None and timezone.now() - used < datetime.timedelta(seconds=10)

    with CaptureQueriesContext(connection) as second:
        call(whole)
    assert _token_updates(second.captured_queries) == []
    assert ApiToken.objects.get(pk=token.pk).last_used_at == used

    # 59 seconds on: still within the minute; 61 seconds on: written again.
    for ago, written in ((59, False), (61, True)):
        earlier = timezone.now() - datetime.timedelta(seconds=ago)
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=earlier)
        call(whole)
        now_used = ApiToken.objects.get(pk=token.pk).last_used_at
        assert (now_used != earlier) is written, ago
        if written:
            assert timezone.now() - now_used < datetime.timedelta(seconds=10)


# --- The app's own JavaScript: session with CSRF -----------------------------------------------


def test_a_session_reads_and_its_writes_need_the_csrf_token(notified):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(notified)
    assert browser.get(UNITS).status_code == 200

    refused = browser.post(MARK_READ, {"all": True}, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["error"]["message"]
    assert unread(notified) == 2

    browser.get(reverse("integrations:token_create"))  # a page with a form sets the cookie
    csrf = browser.cookies["csrftoken"].value
    accepted = browser.post(
        MARK_READ, {"all": True}, content_type="application/json", HTTP_X_CSRFTOKEN=csrf
    )
    assert accepted.status_code == 200 and accepted.json() == {"marked": 2}
    assert unread(notified) == 0


def test_a_token_call_needs_no_csrf_token(notified):
    whole = make_token(notified, TokenScope.WRITE)
    client = Client(enforce_csrf_checks=True)
    assert call(whole, MARK_READ, method="post", client=client, all=True).status_code == 200
    assert unread(notified) == 0


def test_a_session_and_a_bad_token_is_refused_not_taken_for_the_session(rep):
    browser = Client()
    browser.force_login(rep)
    assert_refused(browser.get(UNITS, HTTP_AUTHORIZATION="Bearer tp_000000000000_nope"))


# --- The services' rules -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "terms,field",
    [
        ({"name": "  "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"scope": "admin"}, "scope"),
        ({"expires_at": None}, "expires_at"),
        ({"expires_at": "past"}, "expires_at"),
        ({"expires_at": "too-far"}, "expires_at"),
        ({"expires_at": "naive"}, "expires_at"),
    ],
)
def test_token_create_refuses_bad_terms_and_creates_nothing(rep, settings, terms, field):
    settings.API_TOKEN_MAX_DAYS = 30
    when = {
        "past": timezone.now() - datetime.timedelta(minutes=1),
        "too-far": timezone.now() + datetime.timedelta(days=30, minutes=1),
        "naive": datetime.datetime.now() + datetime.timedelta(days=1),
    }
    values = {"name": "script", "scope": "read", "expires_at": soon(10), **terms}
    if isinstance(values["expires_at"], str):
        values["expires_at"] = when[values["expires_at"]]
    with pytest.raises(ValidationError) as refused:
        token_create(actor=rep, **values)
    assert field in refused.value.message_dict
    assert not ApiToken.objects.exists()


def test_the_longest_lifetime_from_settings_is_allowed(rep, settings):
    settings.API_TOKEN_MAX_DAYS = 30
    token, _ = token_create(
        actor=rep, name="script", scope="read", expires_at=soon(30) - datetime.timedelta(seconds=5)
    )
    assert token.user == rep and token.created_by == rep


def test_integration_create_makes_a_service_user_with_the_stated_role(admin_user):
    token, whole = integration_create(
        actor=admin_user, name="ERP sync", role=Role.DISTRIBUTOR, scope="write", expires_at=soon()
    )
    user = token.user
    assert user.is_service and user.role == Role.DISTRIBUTOR and user.name == "ERP sync"
    assert user.organization_id == admin_user.organization_id
    assert not user.has_usable_password() and user.email == ""
    assert user.distributor_group.organization_id == user.organization_id
    assert token.created_by == admin_user and token.scope == "write"
    assert call(whole).status_code == 200


@pytest.mark.parametrize("who", ["distributor", "rep"])
def test_only_admins_create_integrations(db, who, request):
    actor = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied):
        integration_create(
            actor=actor, name="ERP", role=Role.ADMIN, scope="read", expires_at=soon()
        )
    assert not ApiToken.objects.exists()
    assert not actor.organization.users.filter(is_service=True).exists()


def test_an_integration_acting_as_a_rep_is_refused_and_nothing_is_created(admin_user):
    with pytest.raises(ValidationError) as refused:
        integration_create(
            actor=admin_user, name="ERP", role=Role.REP, scope="read", expires_at=soon()
        )
    assert "role" in refused.value.message_dict
    assert not admin_user.organization.users.filter(is_service=True).exists()


def test_a_bad_expiry_creates_no_service_user(admin_user):
    with pytest.raises(ValidationError):
        integration_create(
            actor=admin_user, name="ERP", role=Role.ADMIN, scope="read", expires_at=None
        )
    assert not admin_user.organization.users.filter(is_service=True).exists()


def test_an_admin_adds_a_token_to_an_integration_but_not_to_a_person(admin_user, rep):
    first, _ = integration_create(
        actor=admin_user, name="ERP", role=Role.ADMIN, scope="read", expires_at=soon()
    )
    second, whole = integration_token_create(
        actor=admin_user, service_user=first.user, name="ERP 2", scope="read", expires_at=soon()
    )
    assert second.user == first.user and call(whole).status_code == 200
    with pytest.raises(PermissionDenied):
        integration_token_create(
            actor=admin_user, service_user=rep, name="x", scope="read", expires_at=soon()
        )
    stranger = UserFactory(organization=OrganizationFactory(), admin=True)
    with pytest.raises(PermissionDenied):
        integration_token_create(
            actor=stranger, service_user=first.user, name="x", scope="read", expires_at=soon()
        )
    user_set_active(actor=admin_user, user=first.user, active=False)
    with pytest.raises(ValidationError):
        integration_token_create(
            actor=admin_user, service_user=first.user, name="x", scope="read", expires_at=soon()
        )


def test_a_service_user_makes_no_personal_token(admin_user):
    token, _ = integration_create(
        actor=admin_user, name="ERP", role=Role.ADMIN, scope="read", expires_at=soon()
    )
    with pytest.raises(PermissionDenied):
        token_create(actor=token.user, name="mine", scope="read", expires_at=soon())


# Who revokes (and sees) whose token. "integration": the organization's integration's token.
REVOKE = [
    ("rep", "rep", True),
    ("distributor", "rep", False),  # not even for their own rep
    ("admin", "rep", False),  # nobody revokes another person's personal token
    ("admin", "admin", True),
    ("admin", "integration", True),
    ("distributor", "integration", False),
    ("rep", "integration", False),
    ("other_admin", "integration", False),
    ("other_admin", "rep", False),
]


@pytest.mark.parametrize("who,whose,allowed", REVOKE)
def test_who_may_revoke_which_token_and_the_list_shows_the_same(
    who, whose, allowed, admin_user, distributor, rep
):
    people = {
        "rep": rep,
        "distributor": distributor,
        "admin": admin_user,
        "other_admin": UserFactory(organization=OrganizationFactory(), admin=True),
    }
    if whose == "integration":
        token, whole = integration_create(
            actor=admin_user, name="ERP", role=Role.ADMIN, scope="read", expires_at=soon()
        )
    else:
        token, whole = token_create(actor=people[whose], name="t", scope="read", expires_at=soon())
    actor = people[who]
    token = ApiToken.objects.select_related("user").get(pk=token.pk)
    assert can_revoke_token(actor=actor_for(actor), token=token) is allowed
    assert ApiToken.objects.visible_to(actor).filter(pk=token.pk).exists() is allowed
    if allowed:
        assert token_revoke(actor=actor, token=token) is True
        assert_refused(call(whole))
    else:
        with pytest.raises(PermissionDenied):
            token_revoke(actor=actor, token=token)
        assert call(whole).status_code == 200
