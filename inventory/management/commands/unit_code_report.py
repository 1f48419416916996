"""List serial and lot numbers that break the code rules, so a person can correct them:
characters other than printable ASCII without spaces (look-alikes pasted from documents), and
serials of one product that differ only in case. Nothing is changed; values received before the
rules were enforced are not rejected retroactively."""

from django.core.management.base import BaseCommand
from django.db.models import Count, Q
from django.db.models.functions import Lower

from inventory.models import Unit
from inventory.udi import UdiError, check_code_characters

PRINTABLE_ASCII = r"^[!-~]*$"


class Command(BaseCommand):
    help = "List serial and lot numbers with look-alike characters or case-only duplicates."

    def handle(self, *args, **options):
        found = 0
        odd = (
            Unit.objects.filter(
                ~Q(serial_number__regex=PRINTABLE_ASCII) | ~Q(lot_number__regex=PRINTABLE_ASCII)
            )
            .select_related("product")
            .order_by("organization_id", "pk")
        )
        for unit in odd.iterator():
            for what, value in (("serial", unit.serial_number), ("lot", unit.lot_number)):
                try:
                    check_code_characters(value, what=f"{what} {value!r}")
                except UdiError as exc:
                    found += 1
                    self.stdout.write(
                        f"unit {unit.pk} ({unit.product.catalog_number}, organization "
                        f"{unit.organization_id}): {exc}"
                    )
        clashes = (
            Unit.objects.exclude(serial_number="")
            .annotate(serial_ci=Lower("serial_number"))
            .values("product_id", "serial_ci")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
            .order_by("product_id", "serial_ci")
        )
        for clash in clashes.iterator():
            found += 1
            serials = Unit.objects.filter(
                product_id=clash["product_id"], serial_number__iexact=clash["serial_ci"]
            ).values_list("pk", "serial_number")
            listed = ", ".join(f"unit {pk} {serial!r}" for pk, serial in serials)
            self.stdout.write(
                f"product {clash['product_id']}: serials that differ only in case: {listed}"
            )
        self.stdout.write(f"{found} value(s) to correct." if found else "Every code is clean.")
