"""The browser tests run with the Content-Security-Policy on and fail on any violation."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import _page_failing_on_csp_violations, login


def test_a_violation_fails_the_test(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    pages = _page_failing_on_csp_violations(context)
    page = next(pages)
    page.route(
        "**/probe",
        lambda route: route.fulfill(
            status=200,
            content_type="text/html",
            headers={"Content-Security-Policy": "default-src 'self'"},
            body='<p style="color:red">x</p><script>document.title = "ran"</script>',
        ),
    )
    page.goto("/probe")
    assert page.title() != "ran"  # the policy blocked the inline script
    with pytest.raises(pytest.fail.Exception, match="Content-Security-Policy violations"):
        next(pages)


@pytest.mark.parametrize("username", ["admin", "riley"])
def test_main_pages_run_under_the_policy_without_violations(page, demo, username):
    login(page, username)
    for path in ["/", "/inventory/", "/inventory/transfers/", "/events/", "/directory/"]:
        page.goto(path)
        expect(page.locator("main")).to_be_visible()
    page.goto("/events/")
    page.locator("main table a").first.click()
    expect(page.locator("main h1")).to_be_visible()
    # Bootstrap's collapsing menu and this app's script run under the policy.
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("button", name="Menu").click()
    page.get_by_role("button", name="Inventory", exact=True).click()
    expect(page.get_by_role("link", name="Units", exact=True)).to_be_visible()
