"""Inventory's models, one module per subject; everything is importable from here."""

from .catalog import Facility, Location, LocationQuerySet, Product
from .par import ParLevel
from .recalls import Recall, RecallQuerySet, RecallReturn, RecallUnit
from .scans import LabelMismatch
from .transfers import Transfer, TransferLine, TransferQuerySet
from .units import (
    AppendOnlyError,
    CustodyEntry,
    CustodyEntryQuerySet,
    EntryKind,
    Unit,
    UnitQuerySet,
    UnitState,
)

__all__ = [
    "Product",
    "LocationQuerySet",
    "Location",
    "Facility",
    "UnitState",
    "UnitQuerySet",
    "Unit",
    "EntryKind",
    "AppendOnlyError",
    "CustodyEntryQuerySet",
    "CustodyEntry",
    "TransferQuerySet",
    "Transfer",
    "TransferLine",
    "RecallQuerySet",
    "Recall",
    "RecallReturn",
    "RecallUnit",
    "ParLevel",
    "LabelMismatch",
]
