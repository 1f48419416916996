"""What a new user on a phone tripped over: the unread count hid inside the collapsed menu, and
the Mark Used table started below the first screen."""

from playwright.sync_api import expect

from tests.browser.conftest import login


def test_the_bell_and_its_unread_count_stay_beside_the_collapsed_menu(phone_page, demo):
    page = phone_page
    login(page, "dana")  # the demo's comment mentions @dana: one unread notification

    expect(page.get_by_role("button", name="Menu")).to_be_visible()
    bell = page.get_by_test_id("bell")
    expect(bell).to_be_visible()  # outside the collapsed menu
    expect(bell.get_by_test_id("unread-count")).to_have_text("1")
    expect(bell).to_have_attribute("aria-label", "Notifications, 1 unread")


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
