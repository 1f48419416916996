"""Every page carries a strict Content-Security-Policy, and no page needs inline script or style.

(The browser tests fail on any violation the browser reports; this checks the header and the
markup of the main pages of every role without a browser.)
"""

import re

import pytest
from django.urls import reverse

from accounts.models import Role
from tests.events.factories import open_event
from tests.inventory.factories import receive_units

INLINE = [
    re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),  # a script without src
    re.compile(r"<style[\s>]", re.I),
    re.compile(r"\sstyle\s*=", re.I),
    re.compile(r"\son[a-z]+\s*=", re.I),  # onclick=, onchange=, ...
    re.compile(r"javascript:", re.I),
]


def directives(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return dict(
        (part.strip().split(" ", 1) + [""])[:2] for part in header.split(";") if part.strip()
    )


# The pages that run the camera scanner: WebAssembly needs 'wasm-unsafe-eval' (only that, and
# only there; tests/inventory/test_scan_views.py checks the other side).
SCANNER_PAGES = {
    "scan",
    "mark_used",
    "receive",
    "receive_udi",
    "receive_udi_attach",
    "receive_udi_new_product",
    "transfer_new",
    "recall_lookup",
    "offline_shell",  # the offline Mark Used page scans too
}


def assert_strict(response):
    policy = directives(response)
    header = response["Content-Security-Policy"]
    assert policy["default-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in header
    if response.resolver_match and response.resolver_match.url_name in SCANNER_PAGES:
        assert policy["script-src"] == "'self' 'wasm-unsafe-eval'"
        header = header.replace("'wasm-unsafe-eval'", "")
    assert "unsafe-eval" not in header
    for directive in ("script-src", "style-src"):
        assert (
            directive not in policy
            or policy[directive] == "'self'"
            or (directive == "script-src" and response.resolver_match.url_name in SCANNER_PAGES)
        )


def assert_no_inline(response):
    body = response.content.decode()
    found = [m.group(0) for pattern in INLINE for m in pattern.finditer(body)]
    assert not found, f"{response.wsgi_request.path}: inline {found[:3]}"


def test_anonymous_pages_carry_the_policy(client, db):
    for name in ("login", "password_reset", "events:offline_shell"):
        response = client.get(reverse(name))
        assert response.status_code == 200
        assert_strict(response)
        assert_no_inline(response)


@pytest.fixture
def stocked(admin_user, pooled, distributor, rep):
    receive_units(admin_user, rep, n=2, serial_prefix="R-")
    receive_units(admin_user, distributor, n=2, serial_prefix="D-")
    return distributor, rep


def _main_pages(user, event, unit):
    pages = [
        reverse("home"),
        reverse("inventory:unit_list"),
        reverse("inventory:unit_list") + "?custody=both",
        reverse("inventory:unit_detail", args=[unit.pk]),
        reverse("inventory:transfer_list"),
        reverse("inventory:product_list"),
        reverse("events:event_list"),
        reverse("events:event_create"),
        reverse("events:event_detail", args=[event.pk]),
        reverse("events:mark_used", args=[event.pk]),
        reverse("accounts:notification_list"),
        reverse("accounts:notification_settings"),
        reverse("events:directory"),
        reverse("password_change"),
    ]
    if user.role == Role.ADMIN or user.is_distributor:
        pages += [reverse("inventory:receive"), reverse("inventory:location_list")]
    if user.role == Role.ADMIN:
        pages += [
            reverse("accounts:user_list"),
            reverse("accounts:user_create"),
            reverse("accounts:user_detail", args=[user.pk]),
            reverse("inventory:hold_list"),
        ]
    return pages


def test_main_pages_of_every_role_carry_the_policy_and_no_inline_code(client, admin_user, stocked):
    distributor, rep = stocked
    event = open_event(rep)
    unit = rep.custody_units.first()
    for user in (admin_user, distributor, rep):
        client.force_login(user)
        for path in _main_pages(user, event, unit):
            response = client.get(path)
            assert response.status_code == 200, path
            assert_strict(response)
            assert_no_inline(response)


def test_error_pages_carry_the_policy_too(client, rep):
    client.force_login(rep)
    response = client.get("/inventory/units/999999999/")
    assert response.status_code == 404
    assert_strict(response)
    assert_no_inline(response)


def test_the_inline_check_catches_inline_code():
    class Fake:
        content = b'<div style="color:red" onclick="x()"><script>alert(1)</script>'
        wsgi_request = type("R", (), {"path": "/fake"})()

    with pytest.raises(AssertionError):
        assert_no_inline(Fake())
