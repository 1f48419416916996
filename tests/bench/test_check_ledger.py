"""check_ledger, the command a restored backup is judged by (tests/production): it passes on a
consistent ledger and names what disagrees otherwise."""

import io

import pytest
from django.core.management import CommandError, call_command

from inventory.models import Unit, UnitState
from tests.factories import UserFactory
from tests.inventory.factories import receive_units


@pytest.mark.postgres
def test_check_ledger_passes_on_a_consistent_ledger_and_fails_on_a_unit_that_disagrees(db):
    user = UserFactory()
    units = receive_units(None, user, n=2)
    out = io.StringIO()
    call_command("check_ledger", stdout=out)
    assert f"{user.organization.name}: 2 units, 2 ledger entries, every unit" in out.getvalue()

    # A row changed behind the ledger's back (no entry says it left).
    Unit.objects.filter(pk=units[0].pk).update(state=UnitState.INACTIVE)
    out = io.StringIO()
    with pytest.raises(CommandError, match=user.organization.name):
        call_command("check_ledger", stdout=out)
    assert "FAILED (units disagreeing with their ledger: 1" in out.getvalue()
