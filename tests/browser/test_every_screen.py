"""Every main page, for each role that opens it, at every width from a small phone to a wide
laptop: nothing scrolls sideways, every menu item is reachable, and axe finds no violation.

One browser context per role (logged in once); each page is loaded once and stepped through
the widths. The contexts bypass the Content-Security-Policy only so axe's script can be added;
tests/browser/test_csp.py holds pages to the policy.
"""

from pathlib import Path

import pytest

from tests.browser.conftest import ARTIFACTS, login
from tests.browser.screens import AXE_WIDTHS, ROLES, SCREENS, WIDTHS, demo_objects, pairs

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]

OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
  return result.violations.map((v) => ({
    id: v.id,
    help: v.help,
    nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ") + " :: " + n.failureSummary.split("\\n").slice(1, 2).join(" ")),
    count: v.nodes.length,
  }));
}"""


def phone_problems(page, url: str, widths=(320, 390)) -> list[str]:
    """What axe finds, and any sideways scroll, on the page as it is now, at phone widths (the
    context must bypass the CSP so axe's script can be added)."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    problems = []
    for width in widths:
        page.set_viewport_size({"width": width, "height": 844})
        if extra := page.evaluate(OVERFLOW):
            problems.append(f"{url} at {width}px: {extra}px too wide")
        problems += [
            f"{url} at {width}px: {v['id']} {v['nodes']}" for v in page.evaluate(RUN_AXE, AXE_TAGS)
        ]
    return problems


@pytest.fixture
def walk(browser, live_server, demo):
    objs = demo_objects(demo)
    contexts = []

    def open_as(role):
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 1280, "height": 900}, bypass_csp=True
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        login(page, role)
        return page

    yield objs, open_as
    for context in contexts:
        context.close()


def test_no_page_scrolls_sideways_and_axe_finds_nothing(walk):
    assert AXE.exists(), "axe-core is missing: run `make setup` (npm ci)"
    objs, open_as = walk
    overflow, violations = [], []
    checked = 0
    for role in ROLES:
        page = open_as(role)
        for screen in SCREENS:
            if role not in screen.roles:
                continue
            url = screen.url(objs)
            response = page.goto(url)
            assert response.status == 200, f"{url} as {role}: {response.status}"
            checked += 1
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 900})
                extra = page.evaluate(OVERFLOW)
                if extra > 0:
                    overflow.append(f"{screen.name} as {role} at {width}px: {extra}px too wide")
                if width in AXE_WIDTHS:
                    if not page.evaluate("typeof axe !== 'undefined'"):
                        page.add_script_tag(path=str(AXE))
                    for v in page.evaluate(RUN_AXE, AXE_TAGS):
                        violations.append(
                            f"{screen.name} as {role} at {width}px: {v['id']} ({v['count']}) "
                            f"{v['help']}: {v['nodes']}"
                        )
    assert checked == len(pairs()) >= 55, f"{checked} page-role pairs walked"
    problems = overflow + violations
    if problems:
        (ARTIFACTS).mkdir(exist_ok=True)
        (ARTIFACTS / "screen-walk.txt").write_text("\n".join(problems))
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:60])


# What each role's menu offers, by the name a person reads (and a screen reader announces).
MENU = {
    "riley": ["Dashboard", "Events", "Units", "Transfers", "Jobs", "Catalog", "Directory"],
    "dana": [
        *("Dashboard", "Events", "Units", "Transfers", "Receive", "Move", "Locations"),
        *("Par levels", "Recalls", "Jobs", "Catalog", "Directory"),
    ],
    "admin": [
        *("Dashboard", "Events", "Units", "Transfers", "Receive", "Move", "Holds"),
        *("Label mismatches", "Locations", "Par levels", "Recalls", "Jobs", "Catalog"),
        *("Directory", "Users", "Data export", "Webhooks"),
    ],
}
USER_MENU = ["Notifications", "Notification settings", "API tokens", "Change password", "Log out"]


def _in_view(page, locator) -> bool:
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    width = page.viewport_size["width"]
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width


def test_every_menu_item_is_on_screen_at_every_width(walk):
    """Open the menu (on narrow screens), then each group, as a person would: every item of
    the role's menu, Log out included, shows within the screen. The bell shows without
    opening anything."""
    _, open_as = walk
    missing = []
    for role in ROLES:
        page = open_as(role)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            page.goto("/")
            if not _in_view(page, page.get_by_test_id("bell")):
                missing.append(f"bell as {role} at {width}px")
            toggler = page.get_by_role("button", name="Menu")
            if toggler.is_visible():
                toggler.click()
                page.locator("#main-nav.show").wait_for()
            nav = page.locator("#main-nav")
            groups = nav.locator("[data-bs-toggle=dropdown]")
            names = []
            for i in range(groups.count()):
                group = groups.nth(i)
                group.click()
                menu = group.locator("xpath=following-sibling::ul[1]")
                menu.locator(".dropdown-item").first.wait_for()
                for item in menu.locator("a.dropdown-item, button.dropdown-item").all():
                    name = item.inner_text().strip()
                    names.append(name)
                    if not (item.is_visible() and _in_view(page, item)):
                        missing.append(f"{name} as {role} at {width}px")
                if role == "dana" and width in (390, 1280) and i == 0:
                    ARTIFACTS.mkdir(exist_ok=True)
                    page.screenshot(path=str(ARTIFACTS / f"nav-dana-{width}px.png"))
                group.click()  # close it again
            for link in nav.locator(".navbar-nav > .nav-item > a.nav-link").all():
                names.append(link.inner_text().strip())
                if not _in_view(page, link):
                    missing.append(f"{link.inner_text()} as {role} at {width}px")
            expected = MENU[role] + USER_MENU
            if sorted(names) != sorted(expected):
                missing.append(f"as {role} at {width}px the menu offers {names}, not {expected}")
    assert not missing, "\n".join(missing)


TAPPABLE = (
    "main input[type=checkbox], main input[type=radio], main button, main .btn, main select, "
    "main td a, main .list-group-item a, main .page-link, nav .nav-link, nav .navbar-toggler"
)
MEASURE = """(selector) => [...document.querySelectorAll(selector)]
  .filter((el) => el.offsetParent !== null)
  .map((el) => {
    const r = el.getBoundingClientRect();
    return {what: el.outerHTML.slice(0, 90), w: r.width, h: r.height,
            row: el.matches('tbody input[type=checkbox]'), primary: el.matches('.btn-primary')};
  })"""


def test_tap_targets_are_24px_and_row_checkboxes_and_primary_buttons_44px_on_a_phone(walk):
    objs, open_as = walk
    small = []
    for role in ROLES:
        page = open_as(role)
        page.set_viewport_size({"width": 390, "height": 844})
        for screen in SCREENS:
            if role not in screen.roles:
                continue
            page.goto(screen.url(objs))
            if role == "riley" and screen.name in ("mark used", "inventory", "jobs"):
                ARTIFACTS.mkdir(exist_ok=True)
                name = screen.name.replace(" ", "-")
                page.screenshot(path=str(ARTIFACTS / f"phone-{name}-riley.png"), full_page=True)
            measured = page.evaluate(MEASURE, TAPPABLE)
            if screen.name in ("mark used", "inventory") and not any(t["row"] for t in measured):
                small.append(f"{screen.name} as {role}: no row checkbox was measured")
            for t in measured:
                least = 44 if t["row"] or t["primary"] else 24
                if t["w"] < least - 0.5 or t["h"] < least - 0.5:
                    small.append(
                        f"{screen.name} as {role}: {t['w']:.0f}x{t['h']:.0f} < {least}: {t['what']}"
                    )
    assert not small, f"{len(small)} small targets:\n" + "\n".join(small[:40])


def test_the_menu_works_from_the_keyboard(walk):
    """Tab to a group, open it with Enter, walk it with the arrow keys, leave with Escape."""
    _, open_as = walk
    page = open_as("dana")
    page.goto("/")
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to the page"
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Inventory":
            break
    else:
        pytest.fail("Tab never reached the Inventory menu")
    page.keyboard.press("Enter")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Units"
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Transfers"
    page.keyboard.press("Escape")
    assert page.get_by_role("link", name="Transfers", exact=True).is_hidden()
    assert page.evaluate("document.activeElement.textContent.trim()") == "Inventory"


def test_axe_finds_nothing_in_the_open_menus(walk):
    """The walk audits pages with every menu closed (axe skips what is hidden): open each group
    in turn, on a laptop and on a phone, and audit it."""
    _, open_as = walk
    violations = []
    for role in ROLES:
        page = open_as(role)
        page.goto("/")
        page.add_script_tag(path=str(AXE))
        for width in AXE_WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            toggler = page.get_by_role("button", name="Menu")
            if toggler.is_visible():
                toggler.click()
                page.locator("#main-nav.show").wait_for()
            groups = page.locator("#main-nav [data-bs-toggle=dropdown]")
            assert groups.count() >= 3
            for i in range(groups.count()):
                groups.nth(i).click()
                page.locator("#main-nav .dropdown-menu.show").wait_for()
                for v in page.evaluate(RUN_AXE, AXE_TAGS):
                    violations.append(f"menu {i} as {role} at {width}px: {v['id']} {v['nodes']}")
                groups.nth(i).click()
            if toggler.is_visible():
                toggler.click()
                page.locator("#main-nav.show").wait_for(state="detached")
    assert not violations, "\n".join(violations)
