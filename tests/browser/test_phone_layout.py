"""What a new user on a phone tripped over: the unread count hid inside the collapsed menu, and
the Mark Used table started below the first screen."""

from playwright.sync_api import expect

from tests.browser.conftest import login


def test_unread_count_shows_on_the_collapsed_menu_button(phone_page, demo):
    page = phone_page
    login(page, "dana")  # the demo's comment mentions @dana: one unread notification

    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_be_visible()
    expect(page.get_by_test_id("bell")).to_be_hidden()  # inside the collapsed menu
    expect(menu.get_by_test_id("menu-unread-count")).to_be_visible()
    expect(menu.get_by_test_id("menu-unread-count")).to_have_text("1")
    expect(menu).to_have_attribute("aria-label", "Menu, 1 unread notification")


def test_mark_used_table_starts_within_the_first_screen_on_a_phone(phone_page, demo, artifacts):
    from events.models import Event

    event = Event.objects.get(name="TKA · St. Mary's · tomorrow")
    page = phone_page
    login(page, "riley")
    page.goto(f"/events/{event.pk}/use/")

    table = page.get_by_test_id("usable-units")
    expect(table).to_be_visible()
    first_row = table.locator("tbody tr").first
    box = first_row.bounding_box()
    page.screenshot(path=str(artifacts / "phone-mark-used-first-screen.png"))
    assert box is not None and box["y"] < 844, f"first unit row starts at {box}"
    # The filters are folded away, one tap from the table.
    expect(page.get_by_role("searchbox", name="Search")).to_be_hidden()
    page.get_by_role("button", name="Search and filters").click()
    expect(page.get_by_role("searchbox", name="Search")).to_be_visible()
