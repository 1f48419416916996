"""A background export seen from its job page: a progress bar while it waits, then (polled by
static/js/job_progress.js, with no reload by the person) Done and the download link. Without
JavaScript the same page is one to refresh by hand."""

import re
from pathlib import Path

from playwright.sync_api import expect

from jobs.models import Job
from tests.browser.conftest import _page_failing_on_csp_violations, login
from tests.taskqueue import run_worker

# The demo organization has a few dozen units: lower the threshold so its export is a job.
SMALL = 5


def _start_export(page):
    page.goto("/inventory/")
    page.get_by_role("link", name="Export CSV").click()
    page.get_by_test_id("start-export").click()
    page.wait_for_url(re.compile(r"/jobs/\d+/$"))
    return Job.objects.get(pk=int(page.url.rstrip("/").rsplit("/", 1)[1]))


def test_the_job_page_follows_a_background_export_to_its_download(page, demo, settings):
    settings.EXPORT_BACKGROUND_ROWS = SMALL
    login(page, "admin")
    job = _start_export(page)
    expect(page.get_by_test_id("job-status")).to_have_text("Waiting for a worker")
    expect(page.get_by_test_id("job-progress")).to_be_visible()
    expect(page.get_by_test_id("job-download")).to_have_count(0)
    # The page is left alone from here: only its script may bring the news.
    page.evaluate("window.__notReloaded = true")

    run_worker()

    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.result_count > SMALL
    expect(page.get_by_test_id("job-status")).to_have_text("Done")
    download_link = page.get_by_test_id("job-download")
    expect(download_link).to_contain_text(f"{job.result_count} rows")
    bar = page.get_by_test_id("job-progress")
    expect(bar).to_have_attribute("value", str(job.total))
    expect(bar).to_have_attribute("max", str(job.total))
    expect(page.get_by_test_id("job-refresh")).to_have_count(0)
    # job_progress.js reloads the page once the job is finished: a new document.
    assert page.evaluate("window.__notReloaded === undefined")

    with page.expect_download() as download:
        download_link.click()
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith('"catalog_number",')
    assert len(lines) == job.result_count + 1


def test_without_javascript_the_job_page_is_refreshed_by_hand(browser, live_server, demo, settings):
    settings.EXPORT_BACKGROUND_ROWS = SMALL
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    for page in _page_failing_on_csp_violations(context):
        login(page, "admin")
        _start_export(page)
        expect(page.get_by_test_id("job-status")).to_have_text("Waiting for a worker")
        expect(page.get_by_test_id("job-progress")).to_be_visible()
        refresh = page.get_by_test_id("job-refresh")
        expect(refresh).to_have_text("Refresh")

        run_worker()
        expect(page.get_by_test_id("job-status")).to_have_text(
            "Waiting for a worker"
        )  # nothing polls
        refresh.click()

        expect(page.get_by_test_id("job-status")).to_have_text("Done")
        expect(page.get_by_test_id("job-download")).to_be_visible()
        expect(page.get_by_test_id("job-refresh")).to_have_count(0)
