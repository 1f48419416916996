"""The ledger feed: every custody entry the caller may follow, in order, resumable by cursor."""

from __future__ import annotations

import json

from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder
from rest_framework.utils.urls import replace_query_param

from api.pagination import BAD_CURSOR, page_limit
from api.serializers.ledger import FEED_VALUES, LedgerFeedPageSerializer, feed_entry
from api.views.base import ApiView
from core.keyset import InvalidCursor
from inventory.selectors.ledger_feed import FeedReader, feed_entries, feed_horizon

# Pages up to this size are one JSON document built in memory; larger ones (up to FEED_MOST)
# are streamed as they are read, a chunk of entries at a time, so the server's memory stays
# flat however large the page.
FEED_PAGE = 200
FEED_MOST = 5000


def _encode(data) -> str:
    # As DRF's JSONRenderer writes it, so a streamed page reads exactly like a built one.
    return json.dumps(data, cls=JSONEncoder, ensure_ascii=False, separators=(",", ":"))


class LedgerFeed(ApiView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "after", str, description="The cursor in the `next` URL of the page before."
            ),
            OpenApiParameter(
                "limit",
                int,
                description=f"Entries per page, 1 to {FEED_MOST} ({FEED_PAGE}). Pages over "
                f"{FEED_PAGE} are streamed.",
            ),
        ],
        responses=LedgerFeedPageSerializer,
        operation_id="ledger_feed",
    )
    def get(self, request):
        """Every custody entry the caller may follow, oldest first, resumable from `next`.

        An entry appears once every transaction older than it has ended, and nothing that
        commits later is ever placed before an entry already given: follow `next` and no entry
        is skipped. `caught_up` says the page reached the end of what can be read now.

        Scope: the entries of the caller's organization that move stock into, out of or within
        a holder in the caller's scope (as on /inventory/): an admin follows the whole
        organization, a distributor their own and their reps' stock, a rep their own and the
        pooled distributor's. An entry stays in the feed after its unit leaves that scope.
        """
        limit = page_limit(request, default=FEED_PAGE, most=FEED_MOST)
        after = request.query_params.get("after") or None
        # The horizon first, then the rows (inventory.selectors.ledger_feed.feed_horizon).
        qs, partitions = feed_entries(user=request.user, horizon=feed_horizon())
        try:
            reader = FeedReader(qs, partitions, columns=FEED_VALUES, after=after, limit=limit)
        except InvalidCursor:
            raise serializers.ValidationError({"after": [BAD_CURSOR]}) from None
        if limit <= FEED_PAGE:
            # Read first: the reader knows where it stopped only once it has read.
            results = [feed_entry(row) for chunk in reader.chunks() for row in chunk]
            next_url = self._next_url(request, reader)
            return Response({"results": results, "next": next_url, "caught_up": reader.caught_up})
        return StreamingHttpResponse(self._stream(request, reader), content_type="application/json")

    def _stream(self, request, reader: FeedReader):
        yield '{"results":['
        first = True
        for chunk in reader.chunks():
            text = _encode([feed_entry(row) for row in chunk])[1:-1]  # the list's items
            yield text if first else "," + text
            first = False
        yield f'],"next":{_encode(self._next_url(request, reader))},'
        yield f'"caught_up":{_encode(reader.caught_up)}}}'

    @staticmethod
    def _next_url(request, reader: FeedReader) -> str:
        url = request.build_absolute_uri()
        if reader.cursor is None:
            return url
        return replace_query_param(url, "after", reader.cursor)
