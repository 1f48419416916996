"""Two gunicorn servers and two workers on one PostgreSQL, nothing else shared: each process has
its own empty MEDIA_ROOT and TMPDIR, so anything kept on a server's disk fails here."""

import http.cookiejar
import re
import urllib.parse
import urllib.request

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from accounts.models import SentEmail
from tests import jobs
from tests.factories import UserFactory
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
    server_a, server_b = Server(tmp_path, "server-a"), Server(tmp_path, "server-b")
    workers = [start_worker(tmp_path, f"worker-{i}") for i in range(2)]
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

        # A job, run by whichever worker claims it, takes effect once.
        # TODO(issue 10): start it through server A (the background export) and download its
        # result through server B once that job exists.
        jobs.open_gate()
        result = jobs.record_once.enqueue(n=1)
        wait_until(
            lambda: (
                jobs.job_row(result).status != TaskResultStatus.READY
                and jobs.job_row(result).finished_at is not None
            ),
            processes=everything,
            what="a worker to run the job",
        )
        for process in everything:
            process.assert_running()
    finally:
        for process in everything:
            process.stop()

    row = DBTaskResult.objects.get(id=result.id)
    assert row.status == TaskResultStatus.SUCCESSFUL, row.traceback
    assert len(row.worker_ids) == 1 and row.worker_ids[0] in {"worker-0", "worker-1"}
    assert SentEmail.objects.filter(key="probe:1").count() == 1
