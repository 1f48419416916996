"""The pages issue 8 (and issue 11's recall lookup) times, for admin, dana (distributor,
pooling on) and riley (a pooled rep of dana's group), with concrete rows picked from the data
each role can see.

Every cell names a text its page must show (a serial searched for, the event's name, the
recall's lot...), and `check` refuses an answer that is not a 200 with that text: a login
page, a redirect or an empty list is a wrong page, not a fast one.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Count, Q
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse

from accounts.models import DistributorGroup, Notification, User
from bench.build.common import model
from inventory.demo import RECALL_DEMO_LOT as DEMO_RECALL_LOT

ROLES = ("admin", "dana", "riley")
NO_MATCH = "ZZQ-NO-SUCH-9"
DEEP_PAGE = 41
_NEXT = re.compile(r'rel="next" href="([^"]+)"')


@dataclass(frozen=True)
class Cell:
    page: str
    role: str
    path: str
    # Text the answer must contain (HTML-escaped as a template would write it).
    expect: str = ""
    # Who signs in: the role's username, or its bench organization's ("dana.o03").
    username: str = ""

    @property
    def login(self) -> str:
        return self.username or self.role


class PagesError(Exception):
    pass


def check(cell: Cell, status: int, body: bytes) -> None:
    """Refuse an answer that is not the page asked for."""
    text = body.decode("utf-8", "replace")
    if status != 200:
        raise PagesError(f"{cell.page} as {cell.role}: {cell.path} answered {status}")
    if 'name="password"' in text:
        raise PagesError(f"{cell.page} as {cell.role}: {cell.path} is a login page")
    if cell.expect and html.escape(cell.expect) not in text and cell.expect not in text:
        raise PagesError(f"{cell.page} as {cell.role}: {cell.path} does not show {cell.expect!r}")


def static_from_finders():
    """In-process pages serve static URLs from the finders (as in the tests), so no
    collectstatic is needed."""
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    return override_settings(STORAGES=storages)


def follow_next(user, path: str, pages: int) -> str:
    """The URL of page `pages` of a cursor list: follow its Next link from page 1, as a person
    clicking would (in-process, once, while the table is set up)."""
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    for n in range(1, pages):
        with static_from_finders():
            response = client.get(path)
        match = _NEXT.search(response.content.decode())
        if response.status_code != 200 or not match:
            raise PagesError(f"{path} as {user.username}: no Next link on page {n}")
        base = path.split("?", 1)[0]
        path = base + html.unescape(match.group(1))
    return path


def _sample_unit(qs):
    unit = qs.exclude(serial_number="").select_related("product").order_by("pk").first()
    if unit is None:
        raise PagesError("no unit to search for; load the organization first")
    return unit


def _search_cells(role: str, unit) -> list[Cell]:
    serial = unit.serial_number
    partial = serial[2:7] if len(serial) > 7 else serial[:3]
    inv = reverse("inventory:unit_list") + "?"
    return [
        Cell("search: exact serial", role, inv + urlencode({"q": serial}), serial),
        Cell("search: lot", role, inv + urlencode({"q": unit.lot_number}), unit.lot_number),
        Cell(
            "search: catalog number",
            role,
            inv + urlencode({"q": unit.product.catalog_number}),
            unit.product.catalog_number,
        ),
        Cell("search: partial serial", role, inv + urlencode({"q": partial}), partial),
        Cell("search: no match", role, inv + urlencode({"q": NO_MATCH}), NO_MATCH),
    ]


def cells(org: int = 0) -> list[Cell]:
    """Every (page, role, path, expected text) to time, in table order.

    `org` 0 times the demo organization's admin, dana and riley; K > 0 those of bench
    organization K (admin.oKK...). The demo organization may be small (`bench_scale --orgs N`
    leaves it as seed_demo made it): then lists have no second page to follow, and the cells
    that need the full size (deep pages, the bench recall) are left out.
    """
    Unit, Event, Recall = model("Unit"), model("Event"), model("Recall")
    tag = f".o{org:02d}" if org else ""
    named = {u.username: u for u in User.objects.filter(username__in=[r + tag for r in ROLES])}
    users = {role: named[role + tag] for role in ROLES if role + tag in named}
    if len(users) < len(ROLES):
        raise PagesError("Run `manage.py seed_demo` (and bench_scale) first.")
    dana, riley = users["dana"], users["riley"]
    org_id = users["admin"].organization_id
    units = Unit.objects.filter(organization_id=org_id)
    small = not units[1000:1001].exists()
    more = "" if small else 'rel="next"'
    if not DistributorGroup.objects.filter(distributor=dana, pooling_enabled=True).exists():
        raise PagesError("dana's group must have pooling on (bench_scale turns it on).")
    big = (
        Event.objects.filter(representative=riley, status="open")
        .annotate(n=Count("lines", filter=Q(lines__removed_at__isnull=True)))
        .order_by("-n", "-pk")
        .first()
    )
    if big is None:
        raise PagesError("riley has no open event to time Mark Used on.")
    # A unit with a long history in riley's custody: every role may open it.
    unit_detail = units.filter(custodian=riley).order_by("-ledger_seq", "pk").first()
    samples = {
        "admin": _sample_unit(units.filter(custodian__isnull=True, state="available")),
        "dana": _sample_unit(units.filter(custodian=dana, state="available")),
        "riley": _sample_unit(units.filter(custodian=riley, state="available")),
    }
    recall = Recall.objects.filter(organization_id=org_id, reference="BENCH-R1").first()
    if recall is None and not small:
        raise PagesError("no bench recall (BENCH-R1): load the organization with bench_scale.")
    lot = recall.lot_numbers[0] if recall else DEMO_RECALL_LOT
    inv = reverse("inventory:unit_list")
    custody = {
        "admin": [("", inv), ("custodian=org", inv + "?custodian=org")],
        "dana": [("", inv)]
        + [(f"custody={v}", f"{inv}?custody={v}") for v in ("mine", "reps", "both")],
        "riley": [("", inv)]
        + [(f"custody={v}", f"{inv}?custody={v}") for v in ("mine", "shared", "both")],
    }
    partial = samples["riley"].serial_number[2:7]
    events = reverse("events:event_list")
    detail = reverse("events:event_detail", args=[big.pk])
    use = reverse("events:mark_used", args=[big.pk])
    out: list[Cell] = []
    for role in ROLES:
        out.append(Cell("dashboard", role, reverse("home"), users[role].name))
    for role in ROLES:
        for label, path in custody[role]:
            out.append(Cell(f"inventory {label}".strip(), role, path, more))
    for role in ("admin", "dana"):
        out.append(Cell("inventory page 1", role, inv, more))
        if not small:
            deep = follow_next(users[role], inv, DEEP_PAGE)
            out.append(Cell(f"inventory page {DEEP_PAGE} (cursor)", role, deep, 'rel="prev"'))
    out.append(Cell("events page 1", "admin", events, more))
    if not small:
        deep = follow_next(users["admin"], events, DEEP_PAGE)
        out.append(Cell(f"events page {DEEP_PAGE} (cursor)", "admin", deep, 'rel="prev"'))
    for role in ROLES:
        out += _search_cells(role, samples[role])
    for role in ROLES:
        out.append(Cell("events", role, events, more))
    for role in ROLES:
        out.append(Cell("events status=open", role, events + "?status=open", "Open"))
        out.append(Cell("events status=paid", role, events + "?status=paid", "Paid"))
    for role in ROLES:
        out.append(Cell("event detail (big open case)", role, detail, big.name))
    for role in ROLES:
        out.append(Cell("mark used custody=both", role, use + "?custody=both", big.name))
        out.append(Cell("mark used facility stock", role, use + "?facility_stock=1", big.name))
        out.append(
            Cell(
                "mark used search",
                role,
                use + "?" + urlencode({"custody": "both", "q": partial}),
                partial,
            )
        )
    for role in ROLES:
        out.append(Cell("transfers", role, reverse("inventory:transfer_list"), "Transfer"))
    label = unit_detail.serial_number or unit_detail.lot_number
    for role in ROLES:
        out.append(
            Cell(
                "unit detail", role, reverse("inventory:unit_detail", args=[unit_detail.pk]), label
            )
        )
    out.append(Cell("users", "admin", reverse("accounts:user_list"), dana.name))
    for role in ROLES:
        latest = Notification.objects.filter(user=users[role]).order_by("-created_at", "-pk")
        summary = latest.values_list("summary", flat=True).first() or ""
        out.append(Cell("notifications", role, reverse("accounts:notification_list"), summary[:40]))
    lookup = reverse("inventory:recall_lookup") + "?" + urlencode({"code": lot})
    for role in ("admin", "dana"):
        out.append(Cell("recall lookup (lot of ~500)", role, lookup, lot))
    if recall is not None:
        out.append(
            Cell(
                "recall page",
                "admin",
                reverse("inventory:recall_detail", args=[recall.pk]),
                recall.reference,
            )
        )
    hold = units.filter(state="hold").exclude(serial_number="").order_by("pk").first()
    out.append(
        Cell(
            "hold queue",
            "admin",
            reverse("inventory:hold_list"),
            hold.serial_number if hold else "",
        )
    )
    for role in ROLES:
        out.append(Cell("jobs", role, reverse("jobs:job_list"), "ob"))
    return [replace(c, username=c.role + tag) for c in out]
