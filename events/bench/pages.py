"""The pages issue 8 times, for admin, dana (distributor, pooling on) and riley (a pooled rep
of dana's group), with concrete rows picked from the data each role can see."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.db.models import Count, Q

from accounts.models import DistributorGroup, User

from .build import model

ROLES = ("admin", "dana", "riley")
NO_MATCH = "ZZQ-NO-SUCH-9"


@dataclass(frozen=True)
class Cell:
    page: str
    role: str
    path: str


class PagesError(Exception):
    pass


def _sample_unit(qs):
    unit = qs.exclude(serial_number="").select_related("product").order_by("pk").first()
    if unit is None:
        raise PagesError("no unit to search for; load the organization first")
    return unit


def _search_cells(role: str, unit) -> list[Cell]:
    serial = unit.serial_number
    partial = serial[2:7] if len(serial) > 7 else serial[:3]
    return [
        Cell("search: exact serial", role, "/inventory/?" + urlencode({"q": serial})),
        Cell("search: lot", role, "/inventory/?" + urlencode({"q": unit.lot_number})),
        Cell(
            "search: catalog number",
            role,
            "/inventory/?" + urlencode({"q": unit.product.catalog_number}),
        ),
        Cell("search: partial serial", role, "/inventory/?" + urlencode({"q": partial})),
        Cell("search: no match", role, "/inventory/?" + urlencode({"q": NO_MATCH})),
    ]


def cells() -> list[Cell]:
    """Every (page, role, path) to time, in table order."""
    Unit, Event = model("Unit"), model("Event")
    users = {u.username: u for u in User.objects.filter(username__in=ROLES)}
    if len(users) < len(ROLES):
        raise PagesError("Run `manage.py seed_demo` (and bench_scale) first.")
    dana, riley = users["dana"], users["riley"]
    if not DistributorGroup.objects.filter(distributor=dana, pooling_enabled=True).exists():
        raise PagesError("dana's group must have pooling on (bench_scale turns it on).")
    big = (
        Event.objects.filter(representative=riley, status="open")
        .annotate(n=Count("lines", filter=Q(lines__removed_at__isnull=True)))
        .order_by("-n", "-pk")
        .values_list("pk", flat=True)
        .first()
    )
    if big is None:
        raise PagesError("riley has no open event to time Mark Used on.")
    # A unit with a long history in riley's custody: every role may open it.
    unit_detail = (
        Unit.objects.filter(custodian=riley)
        .order_by("-ledger_seq", "pk")
        .values_list("pk", flat=True)
    ).first()
    samples = {
        "admin": _sample_unit(Unit.objects.filter(custodian__isnull=True, state="available")),
        "dana": _sample_unit(Unit.objects.filter(custodian=dana, state="available")),
        "riley": _sample_unit(Unit.objects.filter(custodian=riley, state="available")),
    }
    custody = {
        "admin": [("", "/inventory/"), ("custodian=org", "/inventory/?custodian=org")],
        "dana": [("", "/inventory/")]
        + [(f"custody={v}", f"/inventory/?custody={v}") for v in ("mine", "reps", "both")],
        "riley": [("", "/inventory/")]
        + [(f"custody={v}", f"/inventory/?custody={v}") for v in ("mine", "shared", "both")],
    }
    partial = samples["riley"].serial_number[2:7]
    out: list[Cell] = []
    for role in ROLES:
        out.append(Cell("dashboard", role, "/"))
    for role in ROLES:
        for label, path in custody[role]:
            out.append(Cell(f"inventory {label}".strip(), role, path))
    for role in ("admin", "dana"):
        out.append(Cell("inventory page 41 (deep)", role, "/inventory/?page=41"))
    out.append(Cell("inventory page 2000 (deep)", "admin", "/inventory/?page=2000"))
    for role in ROLES:
        out += _search_cells(role, samples[role])
    for role in ROLES:
        out.append(Cell("events", role, "/events/"))
    for role in ROLES:
        out.append(Cell("events status=open", role, "/events/?status=open"))
        out.append(Cell("events status=paid", role, "/events/?status=paid"))
    for role in ROLES:
        out.append(Cell("event detail (big open case)", role, f"/events/{big}/"))
    for role in ROLES:
        out.append(Cell("mark used custody=both", role, f"/events/{big}/use/?custody=both"))
        out.append(Cell("mark used facility stock", role, f"/events/{big}/use/?facility_stock=1"))
        out.append(
            Cell(
                "mark used search",
                role,
                f"/events/{big}/use/?" + urlencode({"custody": "both", "q": partial}),
            )
        )
    for role in ROLES:
        out.append(Cell("transfers", role, "/inventory/transfers/"))
    for role in ROLES:
        out.append(Cell("unit detail", role, f"/inventory/units/{unit_detail}/"))
    out.append(Cell("users", "admin", "/users/"))
    for role in ROLES:
        out.append(Cell("notifications", role, "/notifications/"))
    return out
