"""Logging out from the menu: the form every page carries must hold its own CSRF token (an
`include ... only` drops the page's), or the POST is refused and nobody can log out."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import RepFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/", "/inventory/", "/events/"])
def test_the_menus_log_out_form_logs_out_under_csrf_checks(path):
    rep = RepFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(rep)
    page = client.get(path).content.decode()
    form = re.search(r'<form method="post" action="/accounts/logout/">(.*?)</form>', page, re.S)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.group(1))
    assert token, "the logout form carries no CSRF token"

    answer = client.post(reverse("logout"), {"csrfmiddlewaretoken": token.group(1)})

    assert answer.status_code == 302 and answer["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session
