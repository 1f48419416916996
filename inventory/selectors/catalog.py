"""Reads of the catalog for the picker that gives a scanned label's identity to a product: the
products still without a GTIN (or without an HIBC identity), found by catalog number or
description. An organization may have thousands of products: every read here is limited."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from inventory.models import Product

GTIN = "gtin"
HIBC = "hibc"
IDENTITIES = (GTIN, HIBC)
SUGGESTIONS = 20
MIN_CONTAINS = 3  # shorter terms match the start of a catalog number only


def products_lacking(*, organization_id: int, identity: str) -> QuerySet[Product]:
    """The organization's products without a GTIN (`identity` GTIN) or without an HIBC
    identity (HIBC): those a scanned label of that kind may be given to."""
    products = Product.objects.filter(organization_id=organization_id)
    if identity == GTIN:
        return products.filter(gtin__isnull=True)
    if identity == HIBC:
        return products.filter(hibc_lic="")
    raise ValueError(f"Unknown identity {identity!r}: one of {IDENTITIES}")


def product_matches(
    *, organization_id: int, identity: str, query: str, limit: int = SUGGESTIONS
) -> list[Product]:
    """At most `limit` products lacking `identity` whose catalog number starts with `query`
    (any case; an index serves it) or, for 3 characters or more, whose description contains
    it; by catalog number. An empty query lists the first ones."""
    query = " ".join((query or "").split())[:64]
    products = products_lacking(organization_id=organization_id, identity=identity)
    if query:
        match = Q(catalog_number__istartswith=query)
        if len(query) >= MIN_CONTAINS:
            match |= Q(description__icontains=query)
        products = products.filter(match)
    return list(products.order_by("catalog_number")[:limit])


def product_by_catalog_number(*, organization_id: int, catalog_number: str) -> Product | None:
    """The organization's product with this catalog number (any case), or None."""
    catalog_number = (catalog_number or "").strip()
    if not catalog_number:
        return None
    return Product.objects.filter(
        organization_id=organization_id, catalog_number__iexact=catalog_number
    ).first()
