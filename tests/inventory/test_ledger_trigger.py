"""The custody ledger is append-only: in the model everywhere, and by trigger on PostgreSQL."""

import pytest
from django.db import DatabaseError, connection, transaction

from inventory.models import AppendOnlyError, CustodyEntry
from tests.inventory.factories import receive_units


@pytest.fixture
def entry(admin_user, rep):
    (unit,) = receive_units(admin_user, rep, n=1)
    return CustodyEntry.objects.get(unit=unit)


def entry_row(entry):
    return CustodyEntry.objects.filter(pk=entry.pk).values_list("kind", "note", "sequence").get()


# --- model ---------------------------------------------------------------------------------------


def test_saving_an_existing_entry_again_is_refused(entry):
    entry.note = "rewritten history"

    with pytest.raises(AppendOnlyError):
        entry.save()

    assert entry_row(entry) == ("received", "", 1)


def test_deleting_an_entry_is_refused(entry):
    with pytest.raises(AppendOnlyError):
        entry.delete()

    assert CustodyEntry.objects.filter(pk=entry.pk).exists()


def test_queryset_update_of_entries_is_refused(entry):
    with pytest.raises(AppendOnlyError):
        CustodyEntry.objects.filter(pk=entry.pk).update(note="rewritten")

    assert entry_row(entry) == ("received", "", 1)


def test_queryset_delete_of_entries_is_refused(entry):
    with pytest.raises(AppendOnlyError):
        CustodyEntry.objects.all().delete()

    assert CustodyEntry.objects.filter(pk=entry.pk).exists()


def test_appending_new_entries_still_works(entry, rep):
    # The guard is on existing rows only: the services keep appending.
    created = CustodyEntry.objects.create(
        organization_id=entry.organization_id,
        unit_id=entry.unit_id,
        sequence=2,
        kind="adjusted",
        from_custodian=rep,
        to_custodian=rep,
        from_state="available",
        to_state="available",
        actor=entry.actor,
    )
    assert created.pk is not None


# --- database trigger -------------------------------------------------------------------------


def run_sql(sql, params=()):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def immediate_constraints():
    # The test's rows carry deferred foreign-key checks, and PostgreSQL will not TRUNCATE a
    # table with pending trigger events: run the checks now so only our trigger can object.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@pytest.mark.postgres
def test_database_refuses_raw_update_of_the_ledger(entry):
    with pytest.raises(DatabaseError, match="append-only: UPDATE refused"):
        run_sql("UPDATE inventory_custodyentry SET note = 'rewritten' WHERE id = %s", [entry.pk])

    assert entry_row(entry) == ("received", "", 1)


@pytest.mark.postgres
def test_database_refuses_raw_update_of_the_phones_time(entry):
    # A column added after the trigger (inventory 0022) is guarded by it all the same.
    with pytest.raises(DatabaseError, match="append-only: UPDATE refused"):
        run_sql("UPDATE inventory_custodyentry SET reported_at = now() WHERE id = %s", [entry.pk])

    assert CustodyEntry.objects.get(pk=entry.pk).reported_at is None


@pytest.mark.postgres
def test_database_refuses_raw_delete_from_the_ledger(entry):
    with pytest.raises(DatabaseError, match="append-only: DELETE refused"):
        run_sql("DELETE FROM inventory_custodyentry WHERE id = %s", [entry.pk])

    assert CustodyEntry.objects.filter(pk=entry.pk).exists()


@pytest.mark.postgres
def test_database_refuses_truncating_the_ledger_unless_the_session_opts_in(entry):
    # conftest switches the opt-in on for every connection so test teardown can TRUNCATE;
    # without it the trigger must refuse.
    immediate_constraints()
    with connection.cursor() as cursor:
        cursor.execute("RESET trunkpool.allow_ledger_truncate")
    try:
        with pytest.raises(DatabaseError, match="append-only: TRUNCATE refused"):
            run_sql("TRUNCATE inventory_custodyentry")
        assert CustodyEntry.objects.filter(pk=entry.pk).exists()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET trunkpool.allow_ledger_truncate = 'on'")


@pytest.mark.postgres
def test_opting_in_allows_truncate_but_never_update_or_delete(entry):
    with connection.cursor() as cursor:
        cursor.execute("SET trunkpool.allow_ledger_truncate = 'on'")
    with pytest.raises(DatabaseError, match="UPDATE refused"):
        run_sql("UPDATE inventory_custodyentry SET note = 'x'")
    with pytest.raises(DatabaseError, match="DELETE refused"):
        run_sql("DELETE FROM inventory_custodyentry")

    # Roll the TRUNCATE back with its savepoint so the test's own data survives it.
    immediate_constraints()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE inventory_custodyentry")
        assert not CustodyEntry.objects.exists()
        transaction.set_rollback(True)
    assert CustodyEntry.objects.filter(pk=entry.pk).exists()
