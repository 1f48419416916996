"""Ten organizations on one cluster (README): every index on an organization-scoped table
leads with the organization or a narrower key, and no foreign key can join two organizations.

Read from the migrated test database's catalog, so an index added by hand in a migration
(RunSQL) is judged like one a model declares.

- An organization-scoped table has an `organization` column, or a required foreign key to an
  organization-scoped table (a transfer's lines, an event's comments, a user's notifications).
- A narrower key is a foreign key to an organization-scoped table (a unit, an event, a user, a
  group, a transfer, a location...): one such row belongs to one organization, so its rows are
  a slice of one organization's. A few id columns are narrower keys without a foreign key
  (DECLARED_NARROWER), because the row sits in a lower app than the row it names.
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

OUR_APPS = ("accounts", "jobs", "inventory", "events", "api")

# (table, column) -> what it names. Notifications live in accounts, below events and inventory,
# so they keep the id of what they are about without a foreign key (accounts migration 0005).
DECLARED_NARROWER = {
    ("accounts_notification", "event_id"): "an events.Event",
    ("accounts_notification", "comment_id"): "an events.Comment",
    ("accounts_notification", "transfer_id"): "an inventory.Transfer",
    ("accounts_notification", "recall_id"): "an inventory.Recall",
    # The ledger sits in inventory, below events: it names the event by id.
    ("inventory_custodyentry", "event_id"): "an events.Event",
}

# Indexes that lead with something else, each with why that is right. Keep this short.
ALLOWED = {
    # Sign-in finds a user by username before any organization is known: usernames are unique
    # across the cluster (users would be a Citus reference table).
    "accounts_user_username_key": "sign-in looks a username up across organizations",
    "accounts_user_username_6088629e_like": "Django's LIKE twin of the username key",
    "user_username_ci_unique": "usernames are unique ignoring case, across organizations",
    # An API token is found by its random prefix before its user is known.
    "api_apitoken_prefix_key": "a token is found by its random prefix, before its user",
    "api_apitoken_prefix_86dcf429_like": "Django's LIKE twin of the prefix key",
    # Standard Webhooks' webhook-id: random, unique by itself; receivers dedupe on it.
    "api_webhookevent_webhook_id_key": "a random id, unique by itself",
    "api_webhookevent_webhook_id_0d79b8cb_like": "Django's LIKE twin of the webhook-id key",
    # Django's auth tables (groups, permissions) are global and unused: the app has roles.
    "accounts_user_groups_group_id_bd11a704": "Django's auth groups: global, unused",
    "accounts_user_user_permissions_permission_id_113bb443": "Django's permissions: global",
    # Queues and pruning read every organization on purpose; they list nothing to a person.
    "webhook_delivery_due_idx": "the delivery worker's queue: due deliveries, all organizations",
    "jobs_job_finishe_66d2e7_idx": "the daily prune of finished jobs, all organizations",
    # GIN has no column order to lead with: a trigram's posting list is already narrow and the
    # organization filter applies to the rows it finds; a btree_gin organization column would
    # make every "contains" search read the organization's whole posting list (1M entries).
    "unit_serial_trgm_idx": "trigram GIN: no leading column; the posting list is narrow",
    "unit_lot_trgm_idx": "trigram GIN: no leading column; the posting list is narrow",
    # Uniqueness per product (a narrower key, second): receiving and scans give the product or
    # query inside the organization's scope; serials are near-unique, so few rows come back.
    "unit_serial_ci_unique_per_product": "uniqueness per product; the product pins the org",
}


def _org_scoped_models():
    models = [
        m
        for label in OUR_APPS
        for m in apps.get_app_config(label).get_models(include_auto_created=True)
    ]
    scoped = {m for m in models if any(f.name == "organization" for f in m._meta.concrete_fields)}
    grew = True
    while grew:
        grew = False
        for m in models:
            if m in scoped:
                continue
            if any(
                f.is_relation and not f.null and f.related_model in scoped
                for f in m._meta.concrete_fields
            ):
                scoped.add(m)
                grew = True
    return scoped


def _narrower_columns(model, scoped) -> set[str]:
    table = model._meta.db_table
    # The row's own key is the narrowest of all (the ledger's (unit, organization) foreign key
    # targets a unique (id, organization_id) on the unit).
    cols = {"organization_id", model._meta.pk.column}
    for f in model._meta.concrete_fields:
        if f.is_relation and f.related_model in scoped:
            cols.add(f.column)
    cols |= {col for (t, col) in DECLARED_NARROWER if t == table}
    return cols


def _indexes(tables):
    """(table, index name, first column or None for an expression, definition)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.relname, i.relname, a.attname, pg_get_indexdef(x.indexrelid)
            FROM pg_index x
            JOIN pg_class t ON t.oid = x.indrelid
            JOIN pg_class i ON i.oid = x.indexrelid
            LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = x.indkey[0]
            WHERE t.relname = ANY(%s) AND NOT x.indisprimary
            ORDER BY 1, 2
            """,
            [list(tables)],
        )
        return cursor.fetchall()


def test_every_index_on_an_organization_scoped_table_leads_with_the_org_or_a_narrower_key():
    scoped = _org_scoped_models()
    by_table = {m._meta.db_table: m for m in scoped}
    assert {"inventory_unit", "inventory_custodyentry", "events_eventline"} <= set(by_table)
    wrong = []
    seen = set()
    for table, name, first, definition in _indexes(by_table):
        seen.add(name)
        if name in ALLOWED:
            continue
        if first is None or first not in _narrower_columns(by_table[table], scoped):
            wrong.append(definition)
    assert not wrong, "indexes that do not lead with the organization or a narrower key:\n" + (
        "\n".join(wrong)
    )
    # An allow-list entry whose index is gone is a stale excuse: drop it.
    assert set(ALLOWED) <= seen, sorted(set(ALLOWED) - seen)
