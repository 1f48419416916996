"""bench_api against a live server: it times what this branch serves for each role, lists
what it does not serve yet, refuses a wrong answer, and leaves no working token behind."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import Resolver404, resolve

from api.models import ApiToken
from tests.events.factories import open_event
from tests.factories import DistributorFactory, RepFactory, UserFactory
from tests.inventory.factories import ProductFactory, receive_units

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def bench_people():
    admin = UserFactory(username="admin", admin=True)
    org = admin.organization
    dana = DistributorFactory(organization=org, username="dana")
    riley = RepFactory(organization=org, username="riley", assigned_to=dana)
    receive_units(admin, riley, n=3, product=ProductFactory(organization=org))
    open_event(riley)
    return admin, dana, riley


def test_it_times_each_served_endpoint_for_each_role_and_revokes_its_tokens(
    live_server, bench_people
):
    out = io.StringIO()
    call_command("bench_api", url=live_server.url, samples=2, stdout=out)
    table = out.getvalue()
    for role in ("admin (admin)", "distributor (dana)", "rep (riley)"):
        assert f"| unit list | {role} | 3 |" in table, table
        assert f"| unit detail | {role} | - |" in table, table
    for path, endpoint in [
        ("/api/v1/events/", "event list"),
        ("/api/v1/transfers/", "transfers"),
        ("/api/v1/ledger/", "ledger feed page"),
    ]:
        try:
            resolve(path)
        except Resolver404:
            assert f"skipped, not served by this branch yet: {endpoint}" in table
        else:
            assert f"| {endpoint} | rep (riley) |" in table
    assert not ApiToken.objects.live().filter(name="bench_api").exists()


def test_a_wrong_answer_stops_the_timing(live_server, bench_people):
    with pytest.raises(CommandError, match="unit list as admin: .* answered 401"):
        call_command(
            "bench_api",
            url=live_server.url,
            samples=1,
            token=["admin=tp_000000000000_not-a-real-token"],
            stdout=io.StringIO(),
        )
    assert not ApiToken.objects.live().filter(name="bench_api").exists()
