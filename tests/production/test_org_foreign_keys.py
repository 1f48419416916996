"""No row points into another organization (DESIGN.md 14), checked foreign key by foreign key.

How a key is judged (bench/build/orgcheck.py): a row's organization is its own
`organization_id`, or, for a table without one, its owner's (a transfer line's transfer, a
comment's event: the required key that makes the table organization-scoped, which pins the
organization by construction). Every other foreign key between scoped tables is checked on the
rows: both ends must be in the same organization. Two organizations built by the same services
(the demo, and a copy of its people and stock as bench organization 01) must show no crossing; one row pointed
across by hand must show exactly one.
"""

import pytest
from django.db import connection, transaction

from accounts import demo as accounts_demo
from bench.build import orgcheck
from bench.build.orgs import seed_skeleton
from events import demo as events_demo
from inventory import demo as inventory_demo

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_no_foreign_key_joins_two_organizations_and_a_forged_one_is_found():
    summary = accounts_demo.seed()
    inventory_demo.seed(summary)
    events_demo.seed(summary)
    other = seed_skeleton(1, events=False)  # its people, groups, stock and ledger
    checked = orgcheck.crossings()
    # The ledger, units, events and their lines are among the keys checked, not skipped.
    assert "inventory_custodyentry.unit_id -> inventory_unit" in checked
    assert "events_eventline.unit_id -> inventory_unit" in checked
    assert "inventory_unit.product_id -> inventory_product" in checked
    assert {k: n for k, n in checked.items() if n} == {}

    with transaction.atomic():
        sid = transaction.savepoint()
        with connection.cursor() as cursor:
            # A unit of the demo, moved onto a product of the other organization.
            cursor.execute(
                "UPDATE inventory_unit SET product_id = ("
                "  SELECT id FROM inventory_product WHERE organization_id = %s LIMIT 1)"
                " WHERE id = (SELECT min(id) FROM inventory_unit WHERE organization_id = %s)",
                [other["admin"].organization_id, summary.organization.pk],
            )
        found = {k: n for k, n in orgcheck.crossings().items() if n}
        transaction.savepoint_rollback(sid)
    assert found == {"inventory_unit.product_id -> inventory_product": 1}


def test_the_citus_plan_names_reference_tables_and_no_scoped_table_is_left_out():
    plan = orgcheck.citus_plan()
    assert "accounts_organization" in plan["reference tables"]
    assert "inventory_unit" not in plan["reference tables"]
    assert "inventory_transferline" in plan["scoped tables that need their own organization_id"]
    assert (
        "inventory_custodyentry.unit_id -> inventory_unit"
        in (plan["foreign keys that become (organization_id, x_id)"])
    )
