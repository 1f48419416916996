"""Two gunicorn servers and two workers on one PostgreSQL, nothing else shared: each process has
its own empty MEDIA_ROOT and TMPDIR, so anything kept on a server's disk fails here. A user signs
in through A and goes on through B; a background export started through A runs once and its file
downloads through B."""

import http.cookiejar
import re
import urllib.parse
import urllib.request

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from jobs.models import Job
from tests.factories import UserFactory
from tests.inventory.factories import ProductFactory, receive_units
from tests.processes import Server, start_worker, wait_until

PASSWORD = "stateless-test-password"


class Browser:
    """Cookies kept on this side, sent to whichever server it talks to."""

    def __init__(self):
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def get(self, url: str) -> tuple[str, str]:
        with self.opener.open(url, timeout=20) as response:
            return response.geturl(), response.read().decode()

    def post(self, url: str, data: dict) -> tuple[str, str]:
        body = urllib.parse.urlencode(data).encode()
        with self.opener.open(url, data=body, timeout=20) as response:
            return response.geturl(), response.read().decode()

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.cookies if c.name == name), None)


@pytest.mark.postgres
@pytest.mark.multiprocess
@pytest.mark.django_db(transaction=True)
def test_a_user_and_a_job_move_freely_between_two_servers_and_two_workers(tmp_path):
    user = UserFactory(username="riley", display_name="Riley Stateless")
    # The servers run with the production password hashers, not the tests' fast one.
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, "statelesssalt")
    user.save(update_fields=["password"])
    product = ProductFactory(organization=user.organization, serial_tracked=True)
    receive_units(None, user, n=3, product=product, serial_prefix="SL-")
    # Over two rows, an export runs in the background.
    env = {"EXPORT_BACKGROUND_ROWS": "2"}
    server_a, server_b = Server(tmp_path, "server-a", env), Server(tmp_path, "server-b", env)
    workers = [start_worker(tmp_path, f"worker-{i}", env=env) for i in range(2)]
    everything = [server_a, server_b, *workers]
    try:
        server_a.wait_until_up()
        server_b.wait_until_up()

        browser = Browser()
        _, form = browser.get(server_a.url + "/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
        landed, page = browser.post(
            server_a.url + "/accounts/login/",
            {"username": "riley", "password": PASSWORD, "csrfmiddlewaretoken": token},
        )
        assert landed == server_a.url + "/", page
        assert browser.cookie("sessionid")

        landed, page = browser.get(server_b.url + "/")  # the session lives in PostgreSQL
        assert landed == server_b.url + "/"
        assert "Hello, Riley Stateless" in page

        # A background export started through A runs once, on whichever worker claims it.
        _, confirm = browser.get(server_a.url + "/inventory/export.csv")
        assert "Start the export" in confirm
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', confirm).group(1)
        landed, page = browser.post(
            server_a.url + "/inventory/export.csv", {"csrfmiddlewaretoken": token}
        )
        match = re.fullmatch(re.escape(server_a.url) + r"/jobs/(\d+)/", landed)
        assert match, landed
        job_id = int(match.group(1))
        wait_until(
            lambda: Job.objects.get(pk=job_id).is_finished,
            processes=everything,
            what="a worker to run the export",
        )
        # Its progress page and its file come from server B (the file lives in PostgreSQL).
        _, page = browser.get(f"{server_b.url}/jobs/{job_id}/")
        assert "Download the CSV (3 rows)" in page
        _, csv_text = browser.get(f"{server_b.url}/jobs/{job_id}/download/")
        for process in everything:
            process.assert_running()
    finally:
        for process in everything:
            process.stop()

    (row,) = DBTaskResult.objects.filter(task_path="inventory.tasks.export_units")
    assert row.status == TaskResultStatus.SUCCESSFUL, row.traceback
    assert len(row.worker_ids) == 1 and row.worker_ids[0] in {"worker-0", "worker-1"}
    assert Job.objects.get(pk=job_id).status == Job.Status.DONE
    lines = csv_text.splitlines()
    assert lines[0].startswith('"catalog_number"') and len(lines) == 4
    assert sorted(line.split(",")[4] for line in lines[1:]) == ['"SL-1"', '"SL-2"', '"SL-3"']
