"""The ledger feed's page, as the API shows it (its entries are the unit ledger's)."""

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
