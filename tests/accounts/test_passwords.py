"""Users set their own passwords: invitation, change, reset by email. Admins never type one."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts import services
from accounts.models import Role, User
from tests.factories import PASSWORD, RepFactory
from tests.taskqueue import run_worker

NEW_PASSWORD = "a-fresh-Passphrase-42"


def _link(message) -> str:
    return re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", message.body).group(1)


def _set_password_through(client, path: str, password: str = NEW_PASSWORD):
    # The first GET swaps the token for a session marker and redirects to the set-password form.
    form_url = client.get(path).url
    response = client.post(form_url, {"new_password1": password, "new_password2": password})
    assert response.status_code == 302 and response.url == reverse("password_reset_complete")


def test_admin_creates_a_user_without_a_password_and_they_are_invited(
    client, admin_user, mailoutbox
):
    client.force_login(admin_user)
    form_page = client.get(reverse("accounts:user_create")).content.decode()
    assert 'type="password"' not in form_page and 'name="password"' not in form_page
    response = client.post(
        reverse("accounts:user_create"),
        {
            "username": "newrep",
            "display_name": "New Rep",
            "email": "new@example.com",
            "role": "rep",
        },
    )
    run_worker()
    assert response.status_code == 302
    user = User.objects.get(username="newrep")
    assert not user.has_usable_password()
    [message] = mailoutbox
    assert message.to == ["new@example.com"] and "invited you" in message.subject
    assert "Your username: newrep" in message.body
    client.logout()
    _set_password_through(client, _link(message))
    response = client.post(reverse("login"), {"username": "newrep", "password": NEW_PASSWORD})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(user.pk)


def test_the_invitation_link_works_once(client, admin_user, mailoutbox):
    services.user_create(
        actor=admin_user,
        organization=admin_user.organization,
        username="once",
        role=Role.REP,
        email="once@example.com",
    )
    run_worker()
    link = _link(mailoutbox[0])
    _set_password_through(client, link)
    response = client.get(link, follow=True)
    assert "This link no longer works" in response.content.decode()


def test_an_admin_cannot_choose_a_password(admin_user):
    with pytest.raises(ValidationError, match="never choose passwords"):
        services.user_create(
            actor=admin_user,
            organization=admin_user.organization,
            username="x",
            role=Role.REP,
            email="x@example.com",
            password="chosen-by-admin-1",
        )
    assert not User.objects.filter(username="x").exists()


def test_the_admin_resends_the_invitation_from_the_users_page(client, admin_user, org, mailoutbox):
    rep = RepFactory(organization=org, email="rep@example.com")
    client.force_login(admin_user)
    page = client.get(reverse("accounts:user_detail", args=[rep.pk])).content.decode()
    assert reverse("accounts:user_invite", args=[rep.pk]) in page
    response = client.post(reverse("accounts:user_invite", args=[rep.pk]), follow=True)
    run_worker()
    assert "new invitation" in response.content.decode()
    [message] = mailoutbox
    assert message.to == ["rep@example.com"]
    client.logout()
    _set_password_through(client, _link(message))
    rep.refresh_from_db()
    assert rep.check_password(NEW_PASSWORD)


def test_no_invitation_without_an_email_or_for_a_deactivated_user(admin_user, org, mailoutbox):
    with pytest.raises(ValidationError, match="no email"):
        services.user_invite(actor=admin_user, user=RepFactory(organization=org, email=""))
    with pytest.raises(ValidationError, match="deactivated"):
        services.user_invite(actor=admin_user, user=RepFactory(organization=org, is_active=False))
    run_worker()
    assert mailoutbox == []


def test_only_an_admin_of_the_organization_resends_invitations(client, distributor, rep):
    client.force_login(distributor)
    assert client.post(reverse("accounts:user_invite", args=[rep.pk])).status_code == 403


def test_a_user_changes_their_own_password(client, rep):
    client.force_login(rep)
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302 and response.url == reverse("password_change_done")
    rep.refresh_from_db()
    assert rep.check_password(NEW_PASSWORD)
    assert "Change password" in client.get(reverse("home")).content.decode()


def test_a_wrong_old_password_changes_nothing(client, rep):
    client.force_login(rep)
    response = client.post(
        reverse("password_change"),
        {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    rep.refresh_from_db()
    assert rep.check_password(PASSWORD)


def test_password_reset_by_email(client, rep, mailoutbox):
    assert reverse("password_reset") in client.get(reverse("login")).content.decode()
    response = client.post(reverse("password_reset"), {"email": rep.email.upper()})
    run_worker()
    assert response.status_code == 302
    [message] = mailoutbox
    assert message.to == [rep.email]
    _set_password_through(client, _link(message))
    rep.refresh_from_db()
    assert rep.check_password(NEW_PASSWORD)


def test_password_reset_for_an_unknown_address_says_the_same_and_sends_nothing(
    client, db, mailoutbox
):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"}, follow=True)
    run_worker()
    assert "Check your email" in response.content.decode()
    assert mailoutbox == []


def test_deactivating_a_user_ends_their_sessions(client, admin_user, org):
    rep = RepFactory(organization=org)
    client.force_login(rep)
    assert client.get(reverse("home")).status_code == 200
    services.user_set_active(actor=admin_user, user=rep, active=False)
    response = client.get(reverse("home"))
    assert response.status_code == 302 and reverse("login") in response.url
