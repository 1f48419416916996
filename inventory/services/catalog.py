"""The catalog: products an admin adds."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from accounts.models import User
from accounts.selectors import actor_for
from inventory import policies
from inventory.models import Product


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
