"""/api/v1/docs/: Swagger UI from drf-spectacular-sidecar runs under the strict CSP (the `page`
fixtures fail on any violation), draws every operation, and its "Try it out" works with the
session of a signed-in person, on a laptop and on a phone."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login
from tests.factories import PASSWORD, UserFactory
from tests.inventory.factories import ProductFactory, receive_units


def _collect_errors(page) -> list[str]:
    """Console errors and uncaught exceptions of the page (a CSP violation is one too)."""
    errors: list[str] = []
    page.on(
        "console",
        lambda message: (
            errors.append(f"console: {message.text}") if message.type == "error" else None
        ),
    )
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    return errors


def _open_docs(page):
    page.goto("/api/v1/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Trunkpool API")
    expect(page.locator("#operations-tag-units")).to_be_visible()
    unit_list = page.locator("#operations-units-units_list")
    expect(unit_list.locator(".opblock-summary-method")).to_have_text("GET")
    expect(unit_list.locator("[data-path='/api/v1/units/']")).to_be_visible()
    return unit_list


@pytest.mark.django_db(transaction=True)
def test_the_docs_draw_every_operation_under_the_policy_and_try_it_out_uses_the_session(page):
    errors = _collect_errors(page)
    rep = UserFactory(username="docsrep")
    product = ProductFactory(organization=rep.organization)
    receive_units(None, rep, n=2, product=product, serial_prefix="DOC-")
    login(page, rep.username, PASSWORD)

    unit_list = _open_docs(page)
    for operation_id in ("units_retrieve", "units_ledger_list"):
        expect(page.locator(f"#operations-units-{operation_id}")).to_be_visible()
    # "Authorize" offers the bearer token the schema declares.
    page.get_by_role("button", name="Authorize").click()
    expect(page.get_by_text("bearerAuth  (http, Bearer)")).to_be_visible()
    page.get_by_role("button", name="Close").first.click()

    unit_list.locator(".opblock-summary").click()
    page.get_by_role("button", name="Try it out").click()
    page.get_by_role("button", name="Execute").click()
    live = page.locator(".live-responses-table .response")
    expect(live.locator(".response-col_status")).to_have_text("200")
    expect(live.locator(".response-col_description")).to_contain_text("DOC-1")

    assert errors == []


@pytest.mark.django_db(transaction=True)
def test_the_docs_fit_a_phone_under_the_policy(phone_page, artifacts):
    errors = _collect_errors(phone_page)
    unit_list = _open_docs(phone_page)
    unit_list.locator(".opblock-summary").click()
    expect(unit_list.get_by_role("button", name="Try it out")).to_be_visible()
    phone_page.screenshot(path=str(artifacts / "api-docs-phone.png"), full_page=True)
    # Nothing wider than the screen: the page never scrolls sideways.
    assert phone_page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    assert errors == []
