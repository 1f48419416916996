"""bench_ledger_feed against a real gunicorn worker: it reads the whole feed over HTTP, reports
rows per second and the worker's memory, and cleans up the token it made."""

import io
import re
import time

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Max

from api.models import ApiToken
from bench.management.commands.bench_ledger_feed import gunicorn_workers, rss_kb
from inventory.models import CustodyEntry
from inventory.selectors.ledger_feed import feed_horizon
from tests.factories import UserFactory
from tests.inventory.factories import receive_units
from tests.processes import Server


def test_rss_is_read_from_proc_and_a_missing_process_is_none():
    import os

    assert rss_kb(os.getpid()) > 1000
    assert rss_kb(2**22 + 12345) is None


def test_only_a_server_on_this_machine_is_read():
    with pytest.raises(CommandError, match="127.0.0.1"):
        call_command("bench_ledger_feed", url="http://10.0.0.1:8000", token="x")


@pytest.mark.postgres
@pytest.mark.multiprocess
@pytest.mark.django_db(transaction=True)
def test_the_whole_feed_is_read_over_http_with_the_workers_memory(tmp_path):
    admin = UserFactory(username="bench-admin", admin=True)
    receive_units(admin, None, n=12)
    receive_units(admin, None, n=5)
    entries = CustodyEntry.objects.count()
    # The feed shows them once every older transaction of the server has ended, another
    # session's too (another test run on this PostgreSQL).
    newest = CustodyEntry.objects.aggregate(Max("xact"))["xact__max"]
    deadline = time.monotonic() + 60
    while feed_horizon() <= newest and time.monotonic() < deadline:
        time.sleep(0.2)
    server = Server(tmp_path, "server")
    try:
        server.wait_until_up()
        port = int(server.url.rsplit(":", 1)[1])
        assert gunicorn_workers(port), "the worker is found from the port"
        out = io.StringIO()
        call_command(
            "bench_ledger_feed", url=server.url, user="bench-admin", limit=5, check=True, stdout=out
        )
    finally:
        server.stop()
    report = out.getvalue()
    assert f"{entries} rows" in report, report
    assert "entries given twice: 0" in report
    assert re.search(r"rows/s while reading", report)
    assert re.search(r"pid \d+ RSS: before [\d.]+ MB, after [\d.]+ MB, max [\d.]+ MB", report)
    # The token the run made is revoked.
    assert not ApiToken.objects.live().filter(name="bench_ledger_feed").exists()
