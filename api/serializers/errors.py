"""The one error shape (api/errors.py), as the schema shows it, and the answers a write may
give besides its own."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from api.idempotency import HEADER, MAX_KEY_LENGTH


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="rule, invalid, not_found, permission_denied, ...")
    message = serializers.CharField(help_text="In the words the pages use.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="The field errors, by field name.",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorBodySerializer()


_MEANING = {
    400: "Bad input, or a rule the service refused (code `rule`, in the pages' words).",
    401: "No credentials, or a token that is invalid, expired or revoked.",
    403: "Not allowed: a read-only token writing, or a step only others may take.",
    404: "Not found, or outside what the caller may see (the same answer).",
    415: "The body is not JSON.",
    422: "This Idempotency-Key was already used for a different request.",
    429: "Too many calls; Retry-After says when to try again.",
}

READ_ERRORS = (400, 401, 403, 404, 429)
WRITE_ERRORS = (400, 401, 403, 404, 415, 422, 429)


def error_responses(statuses=READ_ERRORS) -> dict:
    return {s: OpenApiResponse(ErrorSerializer, description=_MEANING[s]) for s in statuses}


# A write sent again with the same key gets the first answer and acts once (api/idempotency.py).
IDEMPOTENCY_KEY = OpenApiParameter(
    HEADER,
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description=f"1 to {MAX_KEY_LENGTH} printable ASCII characters. A retry with the same key "
    "returns the first answer (header Idempotent-Replayed: true) and changes nothing.",
)


def refuse_invalid_form(form) -> None:
    """A page's form (the same input rules as the page) that does not validate: a 400 naming
    its fields, in the form's words."""
    if form.is_valid():
        return
    fields = {
        ("non_field_errors" if name == "__all__" else name): list(errors)
        for name, errors in form.errors.items()
    }
    raise serializers.ValidationError(fields)
