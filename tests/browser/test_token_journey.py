"""A rep makes a read-only API token on its page, copies it from the page, lists units with it,
revokes it, and is refused with it; the pages run under the CSP and fit a phone."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

from playwright.sync_api import expect

from api.models import ApiToken
from inventory.models import Unit
from tests.browser.conftest import login
from tests.browser.test_every_screen import phone_problems

UNITS = "/api/v1/units/"


def api_get(base_url: str, token: str, path: str = UNITS) -> tuple[int, dict]:
    """A program's call: no browser, no cookies, only the token."""
    request = urllib.request.Request(base_url + path, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def make_token_on_the_page(page, name: str, scope_label: str = "Read only") -> None:
    page.get_by_role("link", name="New token").click()
    page.get_by_label("Name").fill(name)
    page.get_by_label(scope_label, exact=True).check()
    page.get_by_label("Expires after").select_option("30")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_role("heading", name="Copy your new token now")).to_be_visible()


def test_a_rep_makes_a_read_only_token_uses_it_and_revokes_it(page, demo, live_server):
    riley = demo["riley"]
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    login(page, "riley")
    page.get_by_test_id("menu-user").click()
    page.get_by_role("link", name="API tokens").click()
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
    make_token_on_the_page(page, "Stock report")

    # Copied with the page's own button, read back from the clipboard.
    copy = page.locator("[data-copy-button]")
    copy.click()
    expect(copy).to_have_text("Copied")
    token = page.evaluate("navigator.clipboard.readText()")
    assert re.fullmatch(r"tp_[0-9a-f]{12}_[\w-]{40,}", token), token
    assert page.get_by_test_id("new-token").input_value() == token

    status, body = api_get(live_server.url, token)
    assert status == 200, body
    mine = set(Unit.objects.visible_to(riley).values_list("pk", flat=True))
    assert body["results"] and {row["id"] for row in body["results"]} <= mine
    stored = ApiToken.objects.get(user=riley, name="Stock report")
    assert stored.scope == "read" and stored.last_used_at is not None

    # Shown once: back on the page after creation, nothing is left to show.
    page.goto("/integrations/tokens/created/")
    expect(page).to_have_url(re.compile(r"/integrations/tokens/$"))
    expect(page.locator("main")).to_contain_text("shown only once")
    assert token not in page.content()

    row = page.get_by_test_id("token-row").filter(has_text="Stock report")
    expect(row.get_by_test_id("token-status")).to_have_text("Active")
    row.get_by_role("link", name="Revoke Stock report").click()
    page.get_by_role("button", name="Revoke token").click()
    expect(page.locator("main")).to_contain_text("calls with it are refused now")
    expect(row.get_by_test_id("token-status")).to_contain_text("Revoked")

    status, body = api_get(live_server.url, token)
    assert status == 401 and body["error"]["code"] == "authentication_failed"


def test_the_token_pages_fit_a_phone(browser, live_server, demo):
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        bypass_csp=True,  # only so axe's script can be added
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        login(page, "riley")
        problems = []
        page.goto("/integrations/tokens/")
        make_token_on_the_page(page, "Phone check", "Read and write")
        problems += phone_problems(page, "/integrations/tokens/created/")
        page.get_by_role("link", name="Done").click()
        for url in ("/integrations/tokens/", "/integrations/tokens/new/"):
            page.goto(url)
            problems += phone_problems(page, url)
        page.goto("/integrations/tokens/")
        page.get_by_role("link", name="Revoke Phone check").click()
        problems += phone_problems(page, page.url)

        page.context.clear_cookies()
        login(page, "admin")
        page.goto("/integrations/tokens/integrations/new/")
        page.get_by_label("Name").fill("ERP sync")
        page.get_by_label("Admin: sees and acts").check()
        page.get_by_role("button", name="Create integration").click()
        expect(page.get_by_role("heading", name="Copy your new token now")).to_be_visible()
        for url in ("/integrations/tokens/integrations/", "/integrations/tokens/integrations/new/"):
            page.goto(url)
            problems += phone_problems(page, url)
    finally:
        context.close()
    assert not problems, "\n".join(problems)
