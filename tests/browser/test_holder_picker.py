"""The holder type-ahead on the admin's Assigned Users picker, with and without JavaScript."""

from playwright.sync_api import expect

from accounts.models import GroupMembership
from tests.browser.conftest import login
from tests.factories import RepFactory


def _options(page):
    return page.locator("#id_rep_options option")


def test_typing_offers_only_unassigned_reps_and_the_pick_assigns(page, demo):
    org = demo["admin"].organization
    RepFactory(organization=org, username="sandy", display_name="Sandy Free")
    RepFactory(organization=org, username="sandra", display_name="Sandra Gone", is_active=False)
    GroupMembership.objects.filter(rep=demo["sam"]).delete()  # sam is free now

    login(page, "admin")
    page.goto(f"/users/{demo['dana'].pk}/")
    box = page.get_by_placeholder("Type a rep's name or username")
    box.press_sequentially("sa", delay=30)
    expect(_options(page)).to_have_count(2)
    values = sorted(_options(page).evaluate_all("els => els.map(e => e.value)"))
    # riley is in dana's group, casey in drew's, Sandra is deactivated: none is offered.
    assert values == ["Sam Rep (sam)", "Sandy Free (sandy)"]
    box.press_sequentially("nd", delay=30)
    expect(_options(page)).to_have_count(1)
    box.fill("Sandy Free (sandy)")  # what choosing the suggestion puts in the box
    page.get_by_role("button", name="Add to group").click()
    expect(page.get_by_text("Assigned Sandy Free to Dana Distributor.")).to_be_visible()
    expect(page.get_by_test_id("assigned-list")).to_contain_text("Sandy Free")


def test_without_javascript_the_box_is_a_plain_search(browser, live_server, demo):
    GroupMembership.objects.filter(rep=demo["sam"]).delete()
    RepFactory(organization=demo["admin"].organization, username="samira", display_name="Samira")
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    login(page, "admin")
    page.goto(f"/users/{demo['dana'].pk}/")
    page.get_by_placeholder("Type a rep's name or username").fill("sa")
    page.get_by_role("button", name="Add to group").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "“sa” matches several people: Sam Rep (sam), Samira (samira)"
    )
    expect(page.get_by_placeholder("Type a rep's name or username")).to_have_value("sa")
    page.get_by_placeholder("Type a rep's name or username").fill("sam rep")
    page.get_by_role("button", name="Add to group").click()
    expect(page.get_by_text("Assigned Sam Rep to Dana Distributor.")).to_be_visible()
    context.close()
