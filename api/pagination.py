"""API lists page with the app's own keyset cursor (core.keyset), never OFFSET or COUNT.

`?limit=` (1 to 200, 50 by default) and `?after=<cursor>`; the answer is
`{"results": [...], "next": "<url of the next page>" | null}`. A cursor that cannot be read is
a 400 naming the `after` field (the pages fall back to page one; a program should be told).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db.models import Q, QuerySet
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from core.keyset import InvalidCursor, Keyset

BAD_CURSOR = "That cursor cannot be read (it is not one this list gave); start again without it."

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def page_limit(request, *, default: int = DEFAULT_LIMIT, most: int = MAX_LIMIT) -> int:
    raw = request.query_params.get("limit")
    if raw in (None, ""):
        return default
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= most:
        raise serializers.ValidationError({"limit": [f"Give a whole number from 1 to {most}."]})
    return limit


def keyset_rows(
    request, qs: QuerySet, ordering: Iterable, *, partitions: Sequence[Q] = ()
) -> tuple[list, str | None]:
    """One page of `qs` in `ordering` (ending with pk) after the request's cursor, and the
    URL of the next page (None on the last)."""
    keyset = Keyset(ordering, size=page_limit(request))
    after = request.query_params.get("after") or None
    try:
        page = keyset.page(qs, after=after, partitions=partitions)
    except InvalidCursor:
        raise serializers.ValidationError({"after": [BAD_CURSOR]}) from None
    next_url = None
    if page.next_cursor:
        next_url = replace_query_param(request.build_absolute_uri(), "after", page.next_cursor)
    return page.rows, next_url


def paged_response(request, qs, ordering, serializer_class, *, partitions=(), context=None):
    rows, next_url = keyset_rows(request, qs, ordering, partitions=partitions)
    data = serializer_class(rows, many=True, context={"request": request, **(context or {})}).data
    return Response({"results": data, "next": next_url})
