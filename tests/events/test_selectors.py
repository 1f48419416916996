"""events.selectors: the dashboard's numbers."""

from accounts.selectors import actor_for
from events.selectors import dashboard
from inventory.models import Transfer
from inventory.services.transfers import transfer_create
from tests.events.factories import days_from_today, mark_used, open_event
from tests.inventory.factories import LocationFactory, ProductFactory, receive_units


def test_pool_levels_count_only_available_unexpired_units(admin_user, distributor, rep, pooled):
    org = distributor.organization
    shelf = LocationFactory(organization=org, name="Main warehouse", holder=distributor)
    product = ProductFactory(organization=org)

    def receive(n, expires_in):
        expiry = None if expires_in is None else days_from_today(expires_in)
        return receive_units(
            admin_user, distributor, n=n, product=product, location=shelf, expiration_date=expiry
        )

    receive(2, 30)
    receive(1, None)
    receive(1, 0)  # expires today: still usable
    receive(2, -1)  # expired yesterday: not stock anyone can use
    (taken,) = receive(1, 30)
    mark_used(rep, open_event(rep), [taken])  # allocated to the rep's case
    (sent,) = receive(1, 30)
    (transfer,) = transfer_create(actor=distributor, unit_ids=[sent.pk], recipient=None)
    assert transfer.status == Transfer.Status.PENDING  # in transit

    levels = dashboard(user=distributor, actor=actor_for(distributor))["pool_levels"]

    assert [(row["location__name"], row["units"]) for row in levels] == [("Main warehouse", 4)]
