"""Journey 1: an admin turns pooling on for a distributor in the web UI."""

from playwright.sync_api import expect

from accounts.models import DistributorGroup, GroupMembership
from tests.browser.conftest import login

PURPLE = "rgb(111, 66, 193)"


def test_admin_turns_pooling_on_and_off_for_dana(page, demo, artifacts):
    # Start from a state where sam is missing, so the journey adds him through the UI.
    GroupMembership.objects.filter(rep=demo["sam"]).delete()

    login(page, "admin")
    page.get_by_role("button", name="Admin", exact=True).click()
    page.get_by_role("link", name="Users", exact=True).click()
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    page.get_by_role("link", name="Dana Distributor").click()
    expect(page.get_by_role("heading", name="Assigned Users")).to_be_visible()

    assigned = page.get_by_test_id("assigned-list")
    if assigned.get_by_text("Sam Rep").count() == 0:
        page.fill("#id_rep", "sam")  # the type-ahead offers "Sam Rep (sam)"
        expect(page.locator("#id_rep_options option[value='Sam Rep (sam)']")).to_have_count(1)
        page.fill("#id_rep", "Sam Rep (sam)")
        page.get_by_role("button", name="Add to group").click()
        expect(page.get_by_text("Assigned Sam Rep to Dana Distributor.")).to_be_visible()
    expect(assigned.get_by_text("Sam Rep")).to_be_visible()

    switch = page.get_by_role("switch", name="Access Distributor's Inventory")
    expect(switch).not_to_be_checked()
    switch.check()  # JavaScript submits the form as soon as the switch flips
    expect(
        page.get_by_text("Access Distributor's Inventory is on for Dana Distributor.")
    ).to_be_visible()

    page.reload()
    switch = page.get_by_role("switch", name="Access Distributor's Inventory")
    expect(switch).to_be_checked()
    expect(switch).to_have_css("background-color", PURPLE)
    expect(page.get_by_test_id("pooling-state")).to_have_text("On")
    expect(page.get_by_test_id("group-history")).to_contain_text(
        "turned Access Distributor's Inventory on"
    )
    assert DistributorGroup.objects.get(distributor=demo["dana"]).pooling_enabled is True
    page.locator("#assigned-users").screenshot(path=str(artifacts / "dana-pooling-on.png"))
    page.screenshot(path=str(artifacts / "dana-profile-pooling-on.png"), full_page=True)

    page.get_by_role("switch", name="Access Distributor's Inventory").uncheck()
    expect(
        page.get_by_text("Access Distributor's Inventory is off for Dana Distributor.")
    ).to_be_visible()
    switch = page.get_by_role("switch", name="Access Distributor's Inventory")
    expect(switch).not_to_be_checked()
    assert switch.evaluate("el => getComputedStyle(el).backgroundColor") != PURPLE
    assert DistributorGroup.objects.get(distributor=demo["dana"]).pooling_enabled is False


def test_pooling_switch_saves_without_javascript(browser, live_server, demo):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    login(page, "admin")
    page.goto(f"/users/{demo['dana'].pk}/")
    page.get_by_role("switch", name="Access Distributor's Inventory").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("pooling-state")).to_have_text("On")
    assert DistributorGroup.objects.get(distributor=demo["dana"]).pooling_enabled is True
    context.close()


def test_riley_cannot_reach_the_users_pages(phone_page, demo):
    page = phone_page
    login(page, "riley")
    page.get_by_role("button", name="Menu").click()
    expect(page.get_by_role("link", name="Dashboard")).to_be_visible()
    expect(page.get_by_role("button", name="Admin", exact=True)).to_have_count(0)
    expect(page.get_by_role("link", name="Users", exact=True)).to_have_count(0)
    response = page.goto("/users/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="You do not have access to this page")).to_be_visible()
    response = page.goto(f"/users/{demo['dana'].pk}/")
    assert response.status == 403
