"""How a unit was identified when someone acted on it: scanned (and the label's format),
typed, or chosen from a list. The custody ledger keeps it (CustodyEntry.identified_by)."""

from django.db import models


class Identified(models.TextChoices):
    LIST = "list", "Chosen from the list"
    TYPED = "typed", "Typed"
    SCAN_GS1 = "scan:gs1", "Scanned (GS1)"
    SCAN_DIGITAL_LINK = "scan:gs1-digital-link", "Scanned (GS1 Digital Link)"
    SCAN_HIBCC = "scan:hibcc", "Scanned (HIBCC)"
