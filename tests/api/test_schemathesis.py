"""Schemathesis against the live schema of a real gunicorn server, as an admin and as a pooled
rep, each with a read-and-write token: no answer may be a server error, and every answer's
status, content type, headers and body must be what /api/v1/schema/ declares.

Every operation in the schema is exercised, whichever helper added it: the run reads the
schema the server serves, and the test fails if any operation went untested. What each token
may see or do is the permission matrix's business (tests/api/test_api_permissions.py), not
this test's.

The time is bounded, so CI stays inside its budget: each token gets SCHEMATHESIS_SECONDS
(schemathesis repeats fuzzing until the budget is spent) and at most SCHEMATHESIS_MAX_EXAMPLES
cases per operation per round. If the API outgrows the budget, the untested operations fail
the test rather than going quietly unchecked. On a failure the message carries schemathesis's
report (each case with a curl command that reproduces it) and the server's log (its
traceback for a 500).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request

import pytest

from tests.api.test_api_permissions import api_world, token_for  # noqa: F401 - fixtures
from tests.events.factories import mark_used
from tests.inventory.factories import ProductFactory, receive_units
from tests.processes import Server
from tests.test_url_permissions import world  # noqa: F401 - the fixture api_world builds on

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.multiprocess,
    pytest.mark.django_db(transaction=True),
]

SECONDS = int(os.environ.get("SCHEMATHESIS_SECONDS", "50"))
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"))
# Not positive_data_acceptance or negative_data_rejection: a filter naming an id the caller
# cannot see is refused (a 400) and an admin's `custody` is ignored, as on /inventory/, which a
# schema cannot express. Not ignored_auth or object-level checks: scope is the matrix's.
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
]
# A fuzzer makes thousands of calls a minute; throttled, most answers would be 429s.
UNTHROTTLED = {"API_THROTTLE_TOKEN": "1000000/m", "API_THROTTLE_USER": "1000000/m"}


def _more_to_find(w) -> None:
    """More than a page of units in the rep's pool, and a unit used on the rep's case, so lists
    page and the ledger holds more than receipts."""
    product = ProductFactory(organization=w.admin.organization)
    receive_units(w.admin, w.distributor, n=60, product=product, serial_prefix="ST-D-")
    (used,) = receive_units(w.admin, w.rep, n=1, product=product, serial_prefix="ST-R-")
    mark_used(w.rep, w.objects["event"], [used])


WHO = ("admin", "rep")


def _operations_in(schema_url: str) -> set[str]:
    with urllib.request.urlopen(schema_url + "?format=json", timeout=30) as response:
        schema = json.load(response)
    methods = {"get", "put", "post", "patch", "delete"}
    return {
        f"{method.upper()} {path}"
        for path, item in schema["paths"].items()
        for method in item
        if method in methods
    }


class Run:
    """One schemathesis CLI run in its own process, with its JSON report."""

    def __init__(self, schema_url: str, token: str, workdir):
        workdir.mkdir()
        self.report_dir = workdir / "report"
        command = [sys.executable, "-m", "schemathesis.cli", "run", schema_url]
        command += ["--header", f"Authorization: Bearer {token}"]
        command += ["--checks", ",".join(CHECKS)]
        command += ["--max-examples", str(MAX_EXAMPLES), "--max-time", str(SECONDS)]
        command += ["--request-timeout", "30", "--generation-database", "none"]
        command += ["--report", "json", "--report-dir", str(self.report_dir), "--no-color"]
        self.popen = subprocess.Popen(
            command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )

    def finish(self) -> tuple[int, str, dict]:
        try:
            output, _ = self.popen.communicate(timeout=SECONDS + 180)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            output, _ = self.popen.communicate()
            return -1, "schemathesis ran past its time budget:\n" + output, {}
        reports = sorted(self.report_dir.glob("*.json"))
        report = json.loads(reports[-1].read_text()) if reports else {}
        return self.popen.returncode, output, report


def _problems(who, code, output, report, operations, server) -> list[str]:
    if not report:
        return [f"{who}: schemathesis wrote no report (exit {code}):\n{output[-6000:]}"]
    problems = []
    if code != 0:
        start = output.find("FAILURES")
        findings = output[start:] if start >= 0 else output[-6000:]
        problems.append(
            f"{who}: schemathesis found problems (seed {report['seed']}):\n{findings}\n"
            f"--- {who}'s server log (last part) ---\n{server.output()[-8000:]}"
        )
    counts = report["operations"]
    if counts["total"] != len(operations):
        problems.append(f"{who}: schemathesis saw {counts}, the schema lists {len(operations)}")
    if counts["tested"] != counts["total"] or counts["errored"]:
        problems.append(
            f"{who}: operations left untested in {SECONDS} s (raise SCHEMATHESIS_SECONDS): {counts}"
        )
    return problems


def test_every_answer_of_the_live_api_matches_its_schema_and_none_is_a_server_error(
    api_world,  # noqa: F811 - the fixture imported above
    tmp_path,
):
    _more_to_find(api_world)
    # A server per token, run side by side: the budget is wall-clock time.
    servers = {who: Server(tmp_path, f"server-{who}", UNTHROTTLED) for who in WHO}
    try:
        for server in servers.values():
            server.wait_until_up()
        operations = _operations_in(f"{servers['admin'].url}/api/v1/schema/")
        assert operations, "the live schema lists no operation"
        runs = {
            who: Run(
                f"{servers[who].url}/api/v1/schema/",
                token_for(getattr(api_world, who)),
                tmp_path / f"schemathesis-{who}",
            )
            for who in WHO
        }
        finished = {who: run.finish() for who, run in runs.items()}
    finally:
        for server in servers.values():
            server.stop()

    problems = []
    for who, (code, output, report) in finished.items():
        problems += _problems(who, code, output, report, operations, servers[who])
        if report:
            print(
                f"schemathesis as {who}: {report['test_cases']['generated']} cases over "
                f"{report['operations']['tested']} operations in {report['running_time']:.0f} s"
            )
    assert not problems, "\n\n".join(problems)
