"""Ten organizations on one cluster (README), in small: `bench_scale --orgs N`'s load adds an
organization beside an untouched demo, and no row points into another organization, checked
foreign key by foreign key.

How a key is judged (bench/build/orgcheck.py): a row's organization is its own
`organization_id`, or, for a table without one, its owner's (a transfer line's transfer, a
comment's event: the required key that makes the table organization-scoped, which pins the
organization by construction). Every other foreign key between scoped tables is checked on the
rows: both ends must be in the same organization. Two organizations (the demo made by the
services; a bench organization, a copy of the demo's people and stock made by the same
services, then loaded in bulk) show no crossing; one row pointed across by hand shows
exactly one.

One test, one load: the seeding through the services is what costs.
"""

from functools import partial

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from accounts.models import User
from bench import pages
from bench.build import orgcheck, orgs
from bench.build.common import Scale
from inventory.models import Unit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_a_bench_org_beside_the_demo_collides_nowhere_and_a_forged_crossing_is_found(
    monkeypatch,
):
    call_command("seed_demo", force=True, stdout=open("/dev/null", "w"))  # noqa: SIM115
    # The bench organizations without the demo's few events: the demo has them (made by the
    # same seeders), and the services that make them are most of this test's time.
    monkeypatch.setattr(orgs, "seed_skeleton", partial(orgs.seed_skeleton, events=False))
    demo_org = User.objects.get(username="admin").organization_id
    demo_units = Unit.objects.filter(organization_id=demo_org).count()
    # What `bench_scale --orgs N` runs, for N = 1 (the command's --orgs 1 is the old load).
    orgs.load_orgs(1, Scale(units=1200, users=60, events=120), log=lambda s: None)
    assert Unit.objects.filter(organization_id=demo_org).count() == demo_units
    org_ids = [User.objects.get(username="admin.o01").organization_id]
    assert demo_org not in org_ids
    for org in org_ids:
        assert User.objects.filter(organization_id=org).count() == 60
        assert Unit.objects.filter(organization_id=org).count() > 1200
    # Every username it adds is tagged, so ten such organizations never collide.
    assert (
        not User.objects.filter(organization_id=org_ids[0])
        .exclude(username__endswith=".o01")
        .exists()
    )
    assert User.objects.values("email").distinct().count() == User.objects.count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('bench_pending_ddl')")
        assert cursor.fetchone()[0] is None  # every dropped index and foreign key is back
    monkeypatch.setattr(pages, "DEEP_PAGE", 2)  # 1,200 units fill fewer than 41 pages
    assert {c.login for c in pages.cells(org=1)} == {"admin.o01", "dana.o01", "riley.o01"}

    checked = orgcheck.crossings()
    # The ledger, units, events and their lines are among the keys checked, not skipped.
    assert "inventory_custodyentry.unit_id -> inventory_unit" in checked
    assert "events_eventline.unit_id -> inventory_unit" in checked
    assert "inventory_unit.product_id -> inventory_product" in checked
    assert {k: n for k, n in checked.items() if n} == {}

    with transaction.atomic():
        sid = transaction.savepoint()
        with connection.cursor() as cursor:
            # A unit of the demo, put on a shelf of another organization.
            cursor.execute(
                "UPDATE inventory_unit SET location_id = ("
                "  SELECT id FROM inventory_location WHERE organization_id = %s LIMIT 1)"
                " WHERE id = (SELECT min(id) FROM inventory_unit WHERE organization_id = %s)",
                [org_ids[0], demo_org],
            )
        found = {k: n for k, n in orgcheck.crossings().items() if n}
        transaction.savepoint_rollback(sid)
    assert found == {"inventory_unit.location_id -> inventory_location": 1}


def test_the_citus_plan_names_reference_tables_and_no_scoped_table_is_left_out():
    plan = orgcheck.citus_plan()
    assert "accounts_organization" in plan["reference tables"]
    assert "inventory_unit" not in plan["reference tables"]
    assert "inventory_transferline" in plan["scoped tables that need their own organization_id"]
    assert (
        "inventory_custodyentry.unit_id -> inventory_unit"
        in (plan["foreign keys that become (organization_id, x_id)"])
    )
