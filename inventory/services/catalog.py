"""The catalog: products an admin adds, and the label identities (GTIN, HIBC) given to them."""

from __future__ import annotations

import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from accounts.models import User
from accounts.selectors import actor_for
from inventory import policies
from inventory.models import Product
from inventory.udi import is_valid_gtin


@transaction.atomic
def product_create(
    *,
    actor: User,
    catalog_number: str,
    description: str,
    manufacturer: str,
    product_line: str = "",
    gtin: str | None = None,
    hibc_lic: str = "",
    hibc_product: str = "",
    single_use: bool = True,
    tracking: str = Product.Tracking.SERIAL,
) -> Product:
    """Add a catalog product (admins). Catalog numbers (regardless of case), GTINs and HIBC
    identities (labeler code and product number) are unique per organization: a clash is a ValidationError on that field, and the database's
    constraints catch one that a concurrent request slips in."""
    if not policies.can_manage_catalog(actor=actor_for(actor)):
        raise PermissionDenied("Only admins manage the catalog.")
    product = Product(
        organization_id=actor.organization_id,
        catalog_number=catalog_number,
        description=description,
        manufacturer=manufacturer,
        product_line=product_line,
        gtin=gtin or None,
        hibc_lic=hibc_lic,
        hibc_product=hibc_product,
        single_use=single_use,
        tracking=tracking,
    )
    if clashes := _product_clashes(product):
        raise ValidationError(clashes)
    try:
        with transaction.atomic():
            product.save()
    except IntegrityError as exc:
        clashes = _product_clashes(product)
        raise ValidationError(clashes or "That product clashes with one in the catalog.") from exc
    return product


def hibc_text(lic: str, product: str) -> str:
    """An HIBC identity as messages name it."""
    return f"HIBC labeler {lic} product {product}"


@transaction.atomic
def product_attach_identity(
    *,
    actor: User,
    product: Product,
    gtin: str | None = None,
    hibc_lic: str = "",
    hibc_product: str = "",
) -> Product:
    """Give a catalog product the GTIN or HIBC identity (labeler code and product number) its
    labels carry, so that a scan finds it (admins). Returns the product as saved.

    A product has one GTIN and one HIBC identity: a different one already there is refused,
    naming it (a scan never relabels a product), and so is an identity another product of the
    organization has. Attaching what the product already has changes nothing. The product's row
    is locked, so two admins attaching at once cannot both win; the database's constraints
    catch a clash a concurrent request slips in. Not a custody change: no ledger entry.
    """
    if not policies.can_manage_catalog(actor=actor_for(actor)):
        raise PermissionDenied("Only admins manage the catalog.")
    gtin, hibc_lic, hibc_product = _identity_shape(gtin, hibc_lic, hibc_product)
    locked = (
        Product.objects.select_for_update()
        .filter(pk=product.pk, organization_id=actor.organization_id)
        .first()
    )
    if locked is None:
        raise ValidationError({"product": "Unknown product."})
    changed = []
    if gtin and gtin != locked.gtin:
        if locked.gtin:
            raise ValidationError(
                {
                    "gtin": f"{locked.catalog_number} already has GTIN {locked.gtin}; a "
                    "product keeps its GTIN. Pick a product without one, or create a new one."
                }
            )
        locked.gtin = gtin
        changed.append("gtin")
    if hibc_lic and (hibc_lic, hibc_product) != (locked.hibc_lic, locked.hibc_product):
        if locked.hibc_lic:
            current = hibc_text(locked.hibc_lic, locked.hibc_product)
            raise ValidationError(
                {
                    "hibc_product": f"{locked.catalog_number} already has {current}; a "
                    "product keeps its HIBC identity. Pick a product without one, or create a "
                    "new one."
                }
            )
        locked.hibc_lic, locked.hibc_product = hibc_lic, hibc_product
        changed += ["hibc_lic", "hibc_product"]
    if not changed:
        return locked
    if clashes := _product_clashes(locked):
        raise ValidationError(clashes)
    try:
        with transaction.atomic():
            locked.save(update_fields=changed)
    except IntegrityError as exc:
        clashes = _product_clashes(locked)
        raise ValidationError(clashes or "That product clashes with one in the catalog.") from exc
    return locked


def _identity_shape(gtin: str | None, lic: str, number: str) -> tuple[str | None, str, str]:
    """A GTIN (as 14 digits) or a whole HIBC identity, checked for shape."""
    gtin = (gtin or "").strip() or None
    lic, number = (lic or "").strip().upper(), (number or "").strip().upper()
    if gtin is not None:
        if not is_valid_gtin(gtin):
            raise ValidationError({"gtin": f"{gtin} is not a valid GTIN."})
        gtin = gtin.zfill(14)
    if bool(lic) != bool(number):
        raise ValidationError(
            {"hibc_product": "Give the HIBC labeler code and product number together."}
        )
    if lic and not (
        re.fullmatch(r"[A-Z][A-Z0-9]{3}", lic) and re.fullmatch(r"[A-Z0-9]{1,18}", number)
    ):
        raise ValidationError(
            {"hibc_product": f"{hibc_text(lic, number)} is not an HIBC identity."}
        )
    if gtin is None and not lic:
        raise ValidationError("Give the GTIN or the HIBC identity to attach.")
    return gtin, lic, number


def _product_clashes(product: Product) -> dict[str, str]:
    """Which unique fields of `product` another product of its organization already has."""
    others = Product.objects.filter(organization_id=product.organization_id).exclude(pk=product.pk)
    clashes = {}
    if others.filter(catalog_number__iexact=product.catalog_number).exists():
        clashes["catalog_number"] = "Another product already has this catalog number."
    if product.gtin and others.filter(gtin=product.gtin).exists():
        clashes["gtin"] = "Another product already has this GTIN."
    if (
        product.hibc_lic
        and others.filter(hibc_lic=product.hibc_lic, hibc_product=product.hibc_product).exists()
    ):
        clashes["hibc_product"] = "Another product already has this HIBC identity."
    return clashes
