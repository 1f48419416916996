"""The main pages of the app and who opens them: the one list the width, axe and tap-target
walks use, so a new page joins all of them here.

Each entry names a page and builds its URL from the demo organization (seed_demo), for the
demo users admin, dana (distributor) and riley (rep, in dana's group).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

ROLES = ("admin", "dana", "riley")
WIDTHS = (320, 390, 768, 1024, 1280, 1440)
AXE_WIDTHS = (1280, 390)
EVERYONE = ROLES
DESK = ("admin", "dana")  # admins and distributors
ADMIN = ("admin",)


@dataclass(frozen=True)
class Screen:
    name: str
    url: Callable[[dict], str]
    roles: tuple[str, ...]


def _event(name: str) -> Callable[[dict], str]:
    return lambda objs: f"/events/{objs['events'][name]}/"


CASE = "TKA · St. Mary's · tomorrow"  # riley's open case
DONE_CASE = "ORIF · St. Mary's · two weeks ago"  # riley's submitted case, with a comment

SCREENS = [
    Screen("dashboard", lambda o: "/", EVERYONE),
    Screen("events", lambda o: "/events/", EVERYONE),
    Screen("event new", lambda o: "/events/new/", EVERYONE),
    Screen("event open", _event(CASE), EVERYONE),
    Screen("event submitted", _event(DONE_CASE), EVERYONE),
    Screen("event edit", lambda o: f"/events/{o['events'][CASE]}/edit/", EVERYONE),
    Screen("mark used", lambda o: f"/events/{o['events'][CASE]}/use/", EVERYONE),
    Screen("inventory", lambda o: "/inventory/", EVERYONE),
    Screen("unit", lambda o: f"/inventory/units/{o['unit']}/", EVERYONE),
    Screen("transfers", lambda o: "/inventory/transfers/", EVERYONE),
    Screen("transfer new", lambda o: "/inventory/transfers/new/", EVERYONE),
    Screen("transfer", lambda o: f"/inventory/transfers/{o['transfer']}/", EVERYONE),
    Screen("catalog", lambda o: "/inventory/products/", EVERYONE),
    Screen("directory", lambda o: "/directory/", EVERYONE),
    Screen("jobs", lambda o: "/jobs/", EVERYONE),
    Screen("notifications", lambda o: "/users/notifications/", EVERYONE),
    Screen("notification settings", lambda o: "/users/notifications/settings/", EVERYONE),
    Screen("change password", lambda o: "/accounts/password_change/", EVERYONE),
    Screen("scan", lambda o: "/scan/", EVERYONE),
    Screen("receive", lambda o: "/inventory/receive/", DESK),
    Screen("locations", lambda o: "/inventory/locations/", DESK),
    Screen("move", lambda o: "/inventory/move/", DESK),
    Screen("par levels", lambda o: "/inventory/par-levels/", DESK),
    Screen("recalls", lambda o: "/inventory/recalls/", DESK),
    Screen("recall lookup", lambda o: "/inventory/recalls/lookup/?code=RC-2417", DESK),
    Screen("recall", lambda o: f"/inventory/recalls/{o['recall']}/", DESK),
    Screen("holds", lambda o: "/inventory/holds/", ADMIN),
    Screen("label mismatches", lambda o: "/inventory/label-mismatches/", ADMIN),
    Screen("label mismatches all", lambda o: "/inventory/label-mismatches/?status=all", ADMIN),
    Screen("recall new", lambda o: "/inventory/recalls/new/", ADMIN),
    Screen("api tokens", lambda o: "/integrations/tokens/", EVERYONE),
    Screen("api token new", lambda o: "/integrations/tokens/new/", EVERYONE),
    Screen("integrations", lambda o: "/integrations/tokens/integrations/", ADMIN),
    Screen("integration new", lambda o: "/integrations/tokens/integrations/new/", ADMIN),
    Screen("users", lambda o: "/users/", ADMIN),
    Screen("user", lambda o: f"/users/{o['dana']}/", ADMIN),
    Screen("user new", lambda o: "/users/new/", ADMIN),
    Screen("organization export", lambda o: "/integrations/export/", ADMIN),
    Screen("webhooks", lambda o: "/integrations/webhooks/", ADMIN),
    Screen("webhook new", lambda o: "/integrations/webhooks/new/", ADMIN),
]


def demo_objects(demo: dict) -> dict:
    """Ids the URLs need, from the demo organization; adds one recall, one pending transfer and
    two label mismatches (one resolved) so their pages exist (seed_demo records none)."""
    from events.models import Event
    from inventory.models import Product, Unit, UnitState
    from inventory.selectors.scans import units_from_scan
    from inventory.services.recalls import recall_record
    from inventory.services.scans import label_mismatch_resolve, record_label_mismatches
    from inventory.services.transfers import transfer_create

    admin, dana, riley = demo["admin"], demo["dana"], demo["riley"]
    events = dict(Event.objects.filter(organization=admin.organization).values_list("name", "pk"))
    unit = Unit.objects.filter(custodian=riley, state=UnitState.AVAILABLE).order_by("pk").first()
    # riley sends one of his units to sam: a transfer every role here may open.
    (transfer,) = transfer_create(actor=riley, unit_ids=[unit.pk], recipient=demo["sam"])
    unit = Unit.objects.filter(custodian=riley, state=UnitState.AVAILABLE).order_by("pk").first()
    product = Product.objects.get(organization=admin.organization, catalog_number="SCR-L35-030")
    recall = recall_record(
        actor=admin,
        product=product,
        lot_numbers=["RC-2417"],
        serial_numbers=[],
        reference="FSCA-2026-11",
        recall_class="II",
        reason="Packaging seal may be incomplete.",
        recall_date=datetime.date.today(),
    )
    # riley scans on his open case a raw GS1 label of that unit with another lot and expiry
    # (GS separators and all), then a Digital Link one: both are refused and kept; an admin
    # resolves the second. The unit's page then shows admins its open mismatch.
    gtin, serial = unit.product.gtin, unit.serial_number
    scanned = units_from_scan(
        qs=Unit.objects.filter(pk=unit.pk),
        text=f"]d201{gtin}17300101\x1d10WRONG-LOT-0042\x1d21{serial}\n"
        f"https://id.gs1.org/01/{gtin}/10/OTHER-LOT/21/{serial}",
    )
    assert len(scanned.mismatches) == 2, scanned.problems
    _, resolved = record_label_mismatches(
        actor=riley,
        mismatches=scanned.mismatches,
        where="mark_used",
        event_id=events["TKA · St. Mary's · tomorrow"],
    )
    label_mismatch_resolve(actor=admin, mismatch=resolved)
    return {
        "events": events,
        "unit": unit.pk,
        "transfer": transfer.pk,
        "recall": recall.pk,
        "dana": dana.pk,
    }


def pairs() -> list[tuple[str, Screen]]:
    return [(role, screen) for screen in SCREENS for role in screen.roles]
