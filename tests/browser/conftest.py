"""Playwright driving Debian's Chromium against pytest-django's live server.

Playwright's sync API runs an event loop in this thread, so Django's async-safety check must
be relaxed for the ORM calls the tests make to set up data.
"""

import io
import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from tests.browser.chromium import CHROMIUM, LAUNCH_ARGS  # noqa: E402

CSP_LISTENER = Path(__file__).with_name("csp_listener.js")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser/" in item.nodeid:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}: run `make test` (it installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        yield browser
        browser.close()


def _is_csp_violation(message) -> bool:
    text = message.text
    return message.type == "error" and (
        "CSP violation" in text or "Content Security Policy" in text
    )


def _page_failing_on_csp_violations(context):
    """A page of the context; the test fails if any page broke the Content-Security-Policy
    (the listener reports each violation, and Chromium logs its own refusals, as errors)."""
    violations = []
    context.add_init_script(path=str(CSP_LISTENER))
    context.on(
        "console",
        lambda message: violations.append(message.text) if _is_csp_violation(message) else None,
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()
    if violations:
        pytest.fail("Content-Security-Policy violations:\n" + "\n".join(violations))


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    yield from _page_failing_on_csp_violations(context)


@pytest.fixture
def phone_page(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    yield from _page_failing_on_csp_violations(context)


@pytest.fixture
def demo(transactional_db, settings):
    """The seed_demo organization, as a user of `make run` sees it."""
    from django.core.management import call_command

    call_command("seed_demo", "--force", stdout=io.StringIO())
    from accounts.models import User

    return {u.username: u for u in User.objects.all()}


@pytest.fixture
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def login(page, username, password="trunkpool-demo"):
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


# The camera tests' fixture.
from tests.browser.camera import camera_browser  # noqa: E402,F401
