"""Demo catalog, locations and units for `seed_demo`, received through the services so every
unit starts with its ledger entry. Idempotent: existing products, locations and serials are
left alone."""

from __future__ import annotations

import datetime

from django.utils import timezone

from accounts.demo import Summary
from inventory.services.receiving import ReceiveLine, units_receive

from .models import Location, ParLevel, Product, Unit
from .udi import gtin_check_digit

COMPANY_PREFIX = "085000123"  # a made-up GS1 company prefix

PRODUCTS = [
    # catalog number, description, manufacturer, line, single use, item reference
    (
        "SCR-C35-024",
        "Cortical screw 3.5 mm x 24 mm",
        "Keystone Ortho",
        "Trauma Screws",
        True,
        "001",
    ),
    ("SCR-L35-030", "Locking screw 3.5 mm x 30 mm", "Keystone Ortho", "Trauma Screws", True, "002"),
    ("PLT-LCP-08H", "LCP plate 3.5 mm, 8 holes", "Keystone Ortho", "Trauma Plates", True, "010"),
    (
        "KNE-FEM-S3R",
        "Knee femoral component, size 3, right",
        "Meridian Joint",
        "Knee Implants",
        True,
        "101",
    ),
    ("HIP-STM-12", "Cementless hip stem, size 12", "Meridian Joint", "Hip Implants", True, "201"),
    ("INS-DG-028", "Drill guide 2.8 mm", "Keystone Ortho", "Instruments", False, "901"),
]

LOCATIONS = [
    ("Main Warehouse", Location.Kind.WAREHOUSE, None),
    ("Dana's Warehouse", Location.Kind.WAREHOUSE, "dana"),
    ("Riley's Trunk", Location.Kind.TRUNK, "riley"),
    ("Sam's Trunk", Location.Kind.TRUNK, "sam"),
    ("Drew's Warehouse", Location.Kind.WAREHOUSE, "drew"),
    ("Casey's Trunk", Location.Kind.TRUNK, "casey"),
]
# A hospital bin dana keeps stocked, and its par levels (catalog number, par, reorder to).
BIN = "St. Mary's Hospital bin"
BIN_STOCK = [("SCR-C35-024", 4, "D-B")]  # catalog number, units, serial prefix
WAREHOUSE_STOCK = [("SCR-C35-024", 4, "D-W")]  # what replenishes the bin
PAR_LEVELS = [
    (BIN, "SCR-C35-024", 3, 5),
    ("Dana's Warehouse", "SCR-C35-024", 1, 2),
]
# A lot of locking screws spread over several holders (one unit used on a submitted case):
# the lot to try the recall lookup and a recall with. (holder, serial prefix, units)
RECALL_DEMO_LOT = "RC-2417"
RECALL_DEMO_UNITS = [
    ("dana", "D-RC", 3),
    ("riley", "R-RC", 2),
    ("sam", "S-RC", 1),
    (None, "O-RC", 1),
]

# holder username (None = organization custody), serial prefix
HOLDERS = [("dana", "D"), ("riley", "R"), ("sam", "S"), ("casey", "C"), (None, "O")]

# (product index, days until expiry) per unit; the same mix for every holder, so each has
# units expiring within 30 days, and dana and the organization one already expired.
UNIT_PLAN = [(0, 420), (1, 25), (2, 700), (3, 540), (4, 15), (5, None), (0, 200), (2, 80)]


def gtin_for(item_reference: str) -> str:
    body = "0" + COMPANY_PREFIX + item_reference.zfill(3)
    return body + str(gtin_check_digit(body))


def seed(summary: Summary) -> None:
    org = summary.organization
    admin = summary.users["admin"]
    products = []
    for number, description, maker, line, single_use, ref in PRODUCTS:
        product, _ = Product.objects.get_or_create(
            organization=org,
            catalog_number=number,
            defaults={
                "description": description,
                "manufacturer": maker,
                "product_line": line,
                "single_use": single_use,
                "gtin": gtin_for(ref),
                "tracking": Product.Tracking.SERIAL,
            },
        )
        products.append(product)
    locations = {}
    for name, kind, holder in LOCATIONS:
        location, _ = Location.objects.get_or_create(
            organization=org,
            name=name,
            defaults={"kind": kind, "holder": summary.users[holder] if holder else None},
        )
        locations[holder] = location
    dana = summary.users["dana"]
    bin_, _ = Location.objects.get_or_create(
        organization=org, name=BIN, defaults={"kind": Location.Kind.BIN, "holder": dana}
    )

    today = timezone.localdate()
    for username, prefix in HOLDERS:
        holder = summary.users[username] if username else None
        plan = list(UNIT_PLAN)
        if prefix in ("D", "O"):
            plan.append((1, -10))  # already expired: cannot be marked used
        lines = []
        for n, (product_index, days) in enumerate(plan, start=1):
            serial = f"{prefix}-{1000 + n}"
            product = products[product_index]
            if Unit.objects.filter(product=product, serial_number=serial).exists():
                continue
            expiry = today + datetime.timedelta(days=days) if days is not None else None
            lines.append(
                ReceiveLine(
                    product=product,
                    serial_numbers=[serial],
                    lot_number=f"L{today:%y}{product_index}{n:02d}",
                    expiration_date=expiry,
                    location=locations[username],
                )
            )
        if lines:
            units_receive(actor=admin, lines=lines, custodian=holder, note="Demo stock")

    by_number = {p.catalog_number: p for p in products}
    _seed_stock(admin, dana, bin_, BIN_STOCK, by_number, today)
    _seed_stock(admin, dana, locations["dana"], WAREHOUSE_STOCK, by_number, today)
    _seed_recall_lot(admin, summary, locations, by_number["SCR-L35-030"], today)
    for location_name, number, par, reorder_to in PAR_LEVELS:
        ParLevel.objects.get_or_create(
            location=Location.objects.get(organization=org, name=location_name),
            product=by_number[number],
            defaults={"organization": org, "par": par, "reorder_to": reorder_to},
        )


def _seed_stock(admin, dana, location, stock, by_number, today):
    for number, count, prefix in stock:
        product = by_number[number]
        serials = [f"{prefix}{n}" for n in range(1, count + 1)]
        if Unit.objects.filter(product=product, serial_number__in=serials).exists():
            continue
        line = ReceiveLine(
            product=product,
            serial_numbers=serials,
            quantity=count,
            lot_number=f"L{today:%y}{prefix}",
            expiration_date=today + datetime.timedelta(days=365),
            location=location,
        )
        units_receive(actor=admin, lines=[line], custodian=dana, note="Demo stock")


def _seed_recall_lot(admin, summary, locations, product, today):
    for username, prefix, count in RECALL_DEMO_UNITS:
        serials = [f"{prefix}{n}" for n in range(1, count + 1)]
        if Unit.objects.filter(product=product, serial_number__in=serials).exists():
            continue
        line = ReceiveLine(
            product=product,
            serial_numbers=serials,
            quantity=count,
            lot_number=RECALL_DEMO_LOT,
            expiration_date=today + datetime.timedelta(days=300),
            location=locations[username],
        )
        holder = summary.users[username] if username else None
        units_receive(actor=admin, lines=[line], custodian=holder, note="Demo stock")
