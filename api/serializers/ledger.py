"""The ledger feed's page, as the API shows it: its entries are the unit ledger's
(LedgerEntrySerializer), written from plain rows so that a large page costs little."""

from __future__ import annotations

from rest_framework import serializers

from api.serializers.units import LedgerEntrySerializer


class LedgerFeedPageSerializer(serializers.Serializer):
    results = LedgerEntrySerializer(many=True)
    next = serializers.URLField(
        help_text="Where to continue: the feed after the last entry of this page (or after the "
        "same cursor, when the page is empty). Never null: a follower always asks it next."
    )
    caught_up = serializers.BooleanField(
        help_text="True when this page holds every entry that can be read now: wait a while "
        "before asking `next`. False when the page stopped at `limit`: ask `next` at once."
    )


# LedgerEntrySerializer's fields and the columns they show. DRF's per-field machinery (and a
# model instance per row) was three quarters of a feed page's time, and a follower reads
# millions of entries: the feed reads these columns as dicts and writes the same JSON
# (tests/api/test_ledger_feed.py compares the two on entries that fill every field).
_COLUMNS = (
    ("id", "pk"),
    ("unit", "unit_id"),
    ("sequence", "sequence"),
    ("kind", "kind"),
    ("from_custodian", "from_custodian_id"),
    ("to_custodian", "to_custodian_id"),
    ("from_state", "from_state"),
    ("to_state", "to_state"),
    ("actor", "actor_id"),
    ("on_behalf_of", "on_behalf_of_id"),
    ("transfer", "transfer_id"),
    ("event_id", "event_id"),
    ("recall", "recall_id"),
    ("from_location", "from_location_id"),
    ("to_location", "to_location_id"),
    ("identified_by", "identified_by"),
    ("at", "at"),
    ("reported_at", "reported_at"),
    ("note", "note"),
)
_DATETIMES = ("at", "reported_at")
_WHEN = serializers.DateTimeField()

# What to read for each entry: the columns above, and the feed's sort key (xact, pk).
FEED_VALUES = ("xact", *(column for _, column in _COLUMNS))


def feed_entry(values: dict) -> dict:
    """One entry as LedgerEntrySerializer shows it, from a `.values(*FEED_VALUES)` row."""
    entry = {name: values[column] for name, column in _COLUMNS}
    for name in _DATETIMES:
        if entry[name] is not None:
            entry[name] = _WHEN.to_representation(entry[name])
    return entry
