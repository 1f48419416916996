"""Schema parts the read and write views share: the keyset page around a list's rows, its
query parameters, the error answers each kind of call may give, and the Idempotency-Key
header. They describe api.pagination, api.errors and api.idempotency; they change nothing."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from api.idempotency import HEADER, MAX_KEY_LENGTH
from api.pagination import MAX_LIMIT
from api.serializers.errors import ErrorSerializer

PAGE_PARAMS = [
    OpenApiParameter("after", str, description="The `next` cursor of the page before."),
    OpenApiParameter("limit", int, description=f"Rows per page, 1 to {MAX_LIMIT} (50)."),
]

_PAGES: dict[type, type] = {}


def paged(item: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The answer of a keyset-paged list of `item` rows (api.pagination.paged_response)."""
    if item not in _PAGES:
        name = item.__name__.removesuffix("Serializer")
        _PAGES[item] = type(
            f"Paged{name}Serializer",
            (serializers.Serializer,),
            {
                "results": item(many=True),
                "next": serializers.CharField(
                    allow_null=True, help_text="The next page's URL; null on the last page."
                ),
            },
        )
    return _PAGES[item]


_MEANING = {
    400: "Bad input, or a rule the service refused (code `rule`, in the pages' words).",
    401: "No credentials, or a token that is invalid, expired or revoked.",
    403: "Not allowed: a read-only token writing, or a step only others may take.",
    404: "Not found, or outside what the caller may see (the same answer).",
    415: "The body is not JSON.",
    422: "This Idempotency-Key was already used for a different request.",
    429: "Too many calls; Retry-After says when to try again.",
}


def errors(*statuses: int) -> dict:
    return {s: OpenApiResponse(ErrorSerializer, description=_MEANING[s]) for s in statuses}


READ_ERRORS = errors(400, 401, 403, 404, 429)
WRITE_ERRORS = errors(400, 401, 403, 404, 415, 422, 429)

IDEMPOTENCY_KEY = OpenApiParameter(
    HEADER,
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description=f"1 to {MAX_KEY_LENGTH} printable ASCII characters. A retry with the same key "
    "returns the first answer (header Idempotent-Replayed: true) and changes nothing.",
)
