"""Ten organizations on one cluster (README), in small: `bench_scale --orgs 2` adds two
organizations beside an untouched demo, and no row points into another organization, checked
foreign key by foreign key.

How a key is judged (bench/build/orgcheck.py): a row's organization is its own
`organization_id`, or, for a table without one, its owner's (a transfer line's transfer, a
comment's event: the required key that makes the table organization-scoped, which pins the
organization by construction). Every other foreign key between scoped tables is checked on the
rows: both ends must be in the same organization. Three organizations (the demo made by the
services; two bench organizations, each a copy of the demo's people, stock and events made by
the same services, then loaded in bulk) show no crossing; one row pointed across by hand shows
exactly one.

One test, one load: the seeding through the services is what costs.
"""

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from accounts.models import User
from bench import pages
from bench.build import orgcheck
from inventory.models import Unit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_two_bench_orgs_beside_the_demo_collide_nowhere_and_a_forged_crossing_is_found(
    monkeypatch,
):
    call_command("seed_demo", force=True, stdout=open("/dev/null", "w"))  # noqa: SIM115
    demo_org = User.objects.get(username="admin").organization_id
    demo_units = Unit.objects.filter(organization_id=demo_org).count()
    call_command(
        "bench_scale",
        orgs=2,
        units=1200,
        users=60,
        events=120,
        load_only=True,
        stdout=open("/dev/null", "w"),  # noqa: SIM115
    )
    assert Unit.objects.filter(organization_id=demo_org).count() == demo_units
    orgs = [User.objects.get(username=f"admin.o{k:02d}").organization_id for k in (1, 2)]
    assert len({demo_org, *orgs}) == 3
    for org in orgs:
        assert User.objects.filter(organization_id=org).count() == 60
        assert Unit.objects.filter(organization_id=org).count() > 1200
    assert User.objects.values("email").distinct().count() == User.objects.count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('bench_pending_ddl')")
        assert cursor.fetchone()[0] is None  # every dropped index and foreign key is back
    monkeypatch.setattr(pages, "DEEP_PAGE", 2)  # 1,200 units fill fewer than 41 pages
    assert {c.login for c in pages.cells(org=2)} == {"admin.o02", "dana.o02", "riley.o02"}

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
                [orgs[0], demo_org],
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
