"""The daily expiry digest: one email per holder, expired and expiring-within-30-days units by
location, and a second run on the same day sends nothing twice."""

import datetime
import io

from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from inventory.models import Location, Unit, UnitState
from inventory.services.expiry_digest import expiry_digest_enqueue
from tests import taskqueue
from tests.factories import RepFactory
from tests.inventory.factories import ProductFactory, receive_units


def _days(n):
    return timezone.localdate() + datetime.timedelta(days=n)


def test_each_holder_gets_one_digest_a_day_by_location_however_often_it_runs(
    admin_user, distributor, rep
):
    org = admin_user.organization
    product = ProductFactory(organization=org, serial_tracked=True, catalog_number="KN-1")
    trunk = Location.objects.create(organization=org, name="Trunk A", kind="trunk", holder=rep)
    bin_ = Location.objects.create(organization=org, name="Bin Mercy", kind="bin", holder=rep)
    receive_units(
        admin_user,
        rep,
        n=1,
        product=product,
        serial_prefix="GONE-",
        expiration_date=_days(-1),
        location=bin_,
    )
    receive_units(
        admin_user,
        rep,
        n=1,
        product=product,
        serial_prefix="SOON-",
        expiration_date=_days(30),
        location=trunk,
    )
    receive_units(
        admin_user,
        rep,
        n=1,
        product=product,
        serial_prefix="TODAY-",
        expiration_date=_days(0),
        location=bin_,
    )
    receive_units(
        admin_user,
        rep,
        n=1,
        product=product,
        serial_prefix="LATER-",
        expiration_date=_days(31),
        location=trunk,
    )
    (used,) = receive_units(
        admin_user,
        rep,
        n=1,
        product=product,
        serial_prefix="USED-",
        expiration_date=_days(-5),
        location=trunk,
    )
    Unit.objects.filter(pk=used.pk).update(state=UnitState.INACTIVE)
    receive_units(
        admin_user,
        distributor,
        n=1,
        product=product,
        serial_prefix="DIST-",
        expiration_date=_days(3),
    )
    quiet = RepFactory(organization=org)
    receive_units(
        admin_user, quiet, n=1, product=product, serial_prefix="FINE-", expiration_date=_days(200)
    )

    out = io.StringIO()
    call_command("send_expiry_digest", stdout=out)
    call_command("send_expiry_digest", stdout=out)  # cron ran twice today
    taskqueue.run_worker()

    assert sorted(m.to[0] for m in mail.outbox) == sorted([rep.email, distributor.email])
    body = next(m.body for m in mail.outbox if m.to == [rep.email])
    assert "1 unit(s) in your custody have expired and 2 expire within 30 days" in body
    assert "SOON-1" in body and "GONE-1" in body and "TODAY-1" in body
    assert "LATER-1" not in body and "USED-1" not in body
    # Grouped by location, in name order, each location once.
    assert body.index("Bin Mercy") < body.index("GONE-1") < body.index("Trunk A")
    assert body.index("TODAY-1") < body.index("Trunk A") < body.index("SOON-1")
    assert body.count("Bin Mercy") == 1
    assert f"EXPIRED {_days(-1)}" in body and f"expires {_days(30)}" in body
    assert "Enqueued 2 expiry digest email(s)." in out.getvalue()


def test_the_next_days_digest_goes_out_again(admin_user, rep):
    product = ProductFactory(organization=admin_user.organization, serial_tracked=True)
    receive_units(
        admin_user, rep, n=1, product=product, serial_prefix="S-", expiration_date=_days(5)
    )
    expiry_digest_enqueue(today=timezone.localdate())
    expiry_digest_enqueue(today=_days(1))
    taskqueue.run_worker()
    assert [m.to for m in mail.outbox] == [[rep.email], [rep.email]]
