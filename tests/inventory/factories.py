"""factory-boy factories for the inventory app, and a helper that receives units properly.

Units are never built with a factory: a unit without its "received" ledger entry breaks the
rule that a unit's custodian and state equal what its ledger says, so tests receive them through
`inventory.services.receiving.units_receive` like the application does.
"""

import itertools

import factory

from inventory.models import CustodyEntry, Location, Product, Unit
from inventory.services.receiving import ReceiveLine, units_receive
from tests.factories import OrganizationFactory, UserFactory

# Serial numbers are unique per product; batches get their own prefix unless a test names one.
_batches = itertools.count(1)


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    organization = factory.SubFactory(OrganizationFactory)
    catalog_number = factory.Sequence(lambda n: f"CAT-{n:05d}")
    description = factory.Sequence(lambda n: f"Tibial insert size {n}")
    manufacturer = "Acme Orthopedics"
    product_line = "Knee"
    gtin = None
    single_use = True
    tracking = Product.Tracking.SERIAL

    class Params:
        serial_tracked = factory.Trait(tracking=Product.Tracking.SERIAL)
        lot_tracked = factory.Trait(tracking=Product.Tracking.LOT)


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Warehouse {n}")
    kind = Location.Kind.WAREHOUSE
    holder = None


def receive_units(
    actor=None,
    custodian=None,
    n=1,
    product=None,
    serial_prefix=None,
    expiration_date=None,
    location=None,
    lot_number=None,
):
    """Receive `n` units into `custodian`'s custody (None = organization custody).

    `actor` must be an admin of the organization or the distributor receiving into their own
    custody; when omitted, a fresh admin of the custodian's organization receives. A serial-
    tracked product gets serials `<serial_prefix>1..n`; a lot-tracked one a lot quantity.
    """
    if actor is None:
        if custodian is None:
            raise ValueError("receive_units needs an actor or a custodian to find the org")
        actor = UserFactory(organization=custodian.organization, admin=True)
    if product is None:
        product = ProductFactory(organization=actor.organization)
    batch = next(_batches)
    if product.tracking == Product.Tracking.SERIAL:
        prefix = serial_prefix if serial_prefix is not None else f"SN{batch}-"
        line = ReceiveLine(
            product=product,
            serial_numbers=[f"{prefix}{i}" for i in range(1, n + 1)],
            quantity=n,
            lot_number=lot_number or "",
            expiration_date=expiration_date,
            location=location,
        )
    else:
        line = ReceiveLine(
            product=product,
            lot_number=lot_number or f"LOT{batch}",
            quantity=n,
            expiration_date=expiration_date,
            location=location,
        )
    return units_receive(actor=actor, lines=[line], custodian=custodian)


def ledger_problems(unit_ids=None, organization_id=None):
    """Replay each unit's ledger and say where it disagrees with the unit. Empty = consistent.

    Sequences run 1..n without gaps, each entry starts where the previous one ended, and the
    last one ends at the unit's current custodian and state, with unit.ledger_seq == n. An
    entry's event_id names an existing event of the entry's organization.
    """
    units = Unit.objects.all()
    entries = CustodyEntry.objects.all()
    if unit_ids is not None:
        units = units.filter(pk__in=unit_ids)
        entries = entries.filter(unit_id__in=unit_ids)
    if organization_id is not None:
        units = units.filter(organization_id=organization_id)
        entries = entries.filter(organization_id=organization_id)
    # The ledger's event_id is a plain column (inventory does not import events): the events
    # services keep it pointing at an event of the entry's organization.
    from events.models import Event

    event_orgs = dict(
        Event.objects.filter(pk__in=entries.exclude(event_id=None).values("event_id")).values_list(
            "pk", "organization_id"
        )
    )
    by_unit = {}
    for entry in entries.order_by("unit_id", "sequence"):
        by_unit.setdefault(entry.unit_id, []).append(entry)
    problems = []
    for unit in units.order_by("pk"):
        custodian, state, location = None, "", None
        history = by_unit.get(unit.pk, [])
        for expected_seq, entry in enumerate(history, start=1):
            where = f"unit {unit.pk} entry {entry.sequence} ({entry.kind})"
            problems += _entry_kind_problems(where, entry)
            if entry.from_location_id != location:
                problems.append(
                    f"{where}: leaves location {entry.from_location_id}, previous entry left "
                    f"it at {location}"
                )
            location = entry.to_location_id
            if entry.sequence != expected_seq:
                problems.append(f"{where}: expected sequence {expected_seq}")
            if (entry.from_custodian_id, entry.from_state) != (custodian, state):
                problems.append(
                    f"{where}: starts at {(entry.from_custodian_id, entry.from_state)}, "
                    f"previous ended at {(custodian, state)}"
                )
            if entry.organization_id != unit.organization_id:
                problems.append(f"{where}: organization differs from the unit's")
            if entry.event_id is not None and event_orgs.get(entry.event_id) != (
                entry.organization_id
            ):
                problems.append(f"{where}: event {entry.event_id} is not one of its organization")
            custodian, state = entry.to_custodian_id, entry.to_state
        if not history:
            problems.append(f"unit {unit.pk} has no ledger entries")
        if history and unit.location_id != location:
            problems.append(f"unit {unit.pk} is at {unit.location_id}, its ledger says {location}")
        if (unit.custodian_id, unit.state) != (custodian, state):
            problems.append(
                f"unit {unit.pk} is {(unit.custodian_id, unit.state)}, "
                f"its ledger says {(custodian, state)}"
            )
        if unit.ledger_seq != len(history):
            problems.append(
                f"unit {unit.pk} ledger_seq {unit.ledger_seq} but {len(history)} entries"
            )
    return problems


# What each entry kind may change: a move changes only the location; quarantine, return and a
# withdrawn recall change only the state, and name their recall; nothing else names a recall.
KEEPS_CUSTODY = {"moved", "quarantined", "returned", "recall_withdrawn"}
NAMES_RECALL = {"quarantined", "returned", "recall_withdrawn"}
TO_STATE = {"quarantined": "quarantined", "returned": "inactive"}


def _entry_kind_problems(where, entry):
    problems = []
    if entry.kind in KEEPS_CUSTODY and entry.from_custodian_id != entry.to_custodian_id:
        problems.append(f"{where}: custody changed")
    if entry.kind == "moved" and entry.from_state != entry.to_state:
        problems.append(f"{where}: a move changed the state")
    if entry.kind in TO_STATE and entry.to_state != TO_STATE[entry.kind]:
        problems.append(f"{where}: ends {entry.to_state}, not {TO_STATE[entry.kind]}")
    if entry.kind == "returned" and entry.from_state != "quarantined":
        problems.append(f"{where}: returned a unit that was not quarantined")
    if (entry.kind in NAMES_RECALL) != (entry.recall_id is not None):
        problems.append(f"{where}: recall {entry.recall_id} on a {entry.kind} entry")
    return problems


def record_mismatch(actor, unit, *, lot="WRONG-LOT", where="transfer", event_id=None):
    """Scan, as `actor`, a GS1 label naming `unit` by serial with another lot (the unit needs a
    lot and its product a GTIN), and record the refused label as the scan boxes do. Returns the
    LabelMismatch."""
    from inventory.selectors.scans import units_from_scan
    from inventory.services.scans import record_label_mismatches

    text = f"(01){unit.product.gtin}(10){lot}(21){unit.serial_number}"
    scanned = units_from_scan(qs=Unit.objects.filter(pk=unit.pk), text=text)
    assert len(scanned.mismatches) == 1, scanned.problems
    (row,) = record_label_mismatches(
        actor=actor, mismatches=scanned.mismatches, where=where, event_id=event_id
    )
    return row
