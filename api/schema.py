"""How /api/v1/schema/ describes the API beyond what each view declares with `extend_schema`.

- The bearer token (api.authentication.TokenAuthentication) is a security scheme, beside the
  session cookie drf-spectacular already knows, so clients and Swagger UI's "Authorize" see it.
- Every operation declares the errors it can answer, in the one shape api.errors gives them
  (`{"error": {"code", "message", "fields"?}}`): 401, 403 and 429 everywhere; 400 where the
  caller sends query parameters or a body; 404 where the path names an object or the call
  writes; 415 on writes, and 422 on those that take an Idempotency-Key. A view never repeats
  them.
- A list that takes the `after` cursor answers one keyset page (api.pagination.paged_response):
  `{"results": [...], "next": url | null}`, so its declared `many=True` serializer is wrapped
  in that page rather than described as a bare array.
- Writes decorated with api.idempotency.idempotent declare the `Idempotency-Key` header.

Schemathesis (tests/api/test_schemathesis.py) holds every answer of the live server to this
description, so a shape left out here fails there.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import (
    build_bearer_security_scheme_object,
    force_instance,
    get_doc,
)
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from api.idempotency import HEADER as IDEMPOTENCY_HEADER
from api.idempotency import MAX_KEY_LENGTH, idempotent

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.TokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        scheme = build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=self.target.keyword
        )
        scheme["description"] = (
            "A personal or integration token made on /integrations/tokens/, sent as "
            "`Authorization: Bearer tp_<prefix>_<secret>`. A read-only token cannot write."
        )
        return scheme


class ApiErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="What went wrong, for a program: `invalid` (a field or parameter), `rule` "
        "(a rule of the app refused it; the message names the rule), `not_authenticated`, "
        "`authentication_failed`, `permission_denied`, `not_found`, `throttled`, "
        "`idempotency_key_reused`, `parse_error`, `unsupported_media_type`, `stale` (a unit "
        "changed since the `expected_sequences` sent)."
    )
    message = serializers.CharField(help_text="What went wrong, for a person.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="The messages for each field or parameter that is not valid.",
    )


class ApiErrorSerializer(serializers.Serializer):
    error = ApiErrorDetailSerializer()


class _KeysetPage:
    """What drf-spectacular asks of a paginator to describe a page; the paging itself is
    api.pagination's (views declare its `after` and `limit` parameters themselves)."""

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["results", "next"],
            "properties": {
                "results": schema,
                "next": {
                    "type": ["string", "null"],
                    "format": "uri",
                    "description": "The next page's URL (the same query with `after`); null "
                    "on the last page.",
                },
            },
        }

    def get_schema_operation_parameters(self, view) -> list:
        return []


_IDEMPOTENT_CODE = idempotent(lambda view, request: None).__code__

_ERRORS = {
    "400": "The request is not valid (a field, a parameter, a cursor or the JSON itself), or "
    "a rule of the app refused it (code `rule`).",
    "401": "No credentials, or a token that is invalid, expired or revoked.",
    "403": "The caller may not do this (a read-only token writing, a rule about the caller).",
    "404": "No such object among those the caller may see.",
    "409": "A unit changed since the `expected_sequences` sent (code `stale`): nothing was "
    "done; the message says what changed. Read the units again before retrying.",
    "415": "The body is not JSON.",
    "422": "The Idempotency-Key was used before for a different request.",
    "429": "Too many calls: wait the seconds in Retry-After.",
}


class ApiAutoSchema(AutoSchema):
    def get_description(self) -> str:
        # drf-spectacular falls back on base classes' docstrings, which would give every
        # operation without a docstring ApiView's note about settings.
        handler = getattr(self.view, self.method.lower(), None)
        return get_doc(handler) or (self.view.__class__.__dict__.get("__doc__") or "").strip()

    def _get_paginator(self):
        if self.method == "GET" and "after" in self._declared_parameter_names():
            return _KeysetPage()
        return super()._get_paginator()

    def _declared_parameter_names(self) -> set[str]:
        return {p.name for p in self.get_override_parameters() if isinstance(p, OpenApiParameter)}

    def _is_idempotent_write(self) -> bool:
        handler = getattr(self.view.__class__, self.method.lower(), None)
        return getattr(handler, "__code__", None) is _IDEMPOTENT_CODE

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self.method in WRITE_METHODS and self._is_idempotent_write():
            parameters.append(
                OpenApiParameter(
                    IDEMPOTENCY_HEADER,
                    {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
                    location=OpenApiParameter.HEADER,
                    description="Any unique string (a UUID): a retry with the same key gets "
                    "the first answer and acts once.",
                )
            )
        return parameters

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        # Every error answer is the one shape, described here once, whatever a view declared.
        for code in self._error_codes(operation):
            operation["responses"][code] = self._error_response(code)
        if any(p["in"] == "query" for p in operation.get("parameters", [])):
            # Answered by the web server in front (gunicorn refuses a request line over 4 KB)
            # before the app sees the call, so not in the API's JSON shape.
            operation["responses"]["414"] = {
                "description": "The URL is too long for the server (over about 4 KB)."
            }
        return operation

    def _error_codes(self, operation: dict) -> list[str]:
        parameters = operation.get("parameters", [])
        writes = self.method in WRITE_METHODS
        codes = ["401", "403", "429"]
        if writes or "requestBody" in operation or any(p["in"] == "query" for p in parameters):
            codes.append("400")
        if writes or any(p["in"] == "path" for p in parameters):
            codes.append("404")
        if writes:
            codes.append("415")
        if writes and self._is_idempotent_write():
            codes.append("422")
        if writes and self._takes_expected_sequences():
            codes.append("409")
        return sorted(codes)

    def _takes_expected_sequences(self) -> bool:
        body = force_instance(self.get_request_serializer())
        return isinstance(body, serializers.Serializer) and "expected_sequences" in body.fields

    def _error_response(self, code: str) -> dict:
        response = self._get_response_for_code(ApiErrorSerializer, code)
        response["description"] = _ERRORS[code]
        if code == "429":
            response["headers"] = {
                "Retry-After": {
                    "schema": {"type": "integer", "minimum": 1},
                    "description": "Seconds until the caller's window of calls starts again.",
                }
            }
        if code == "401":
            response["headers"] = {
                "WWW-Authenticate": {
                    "schema": {"type": "string"},
                    "description": "`Bearer`: the scheme to authenticate with.",
                }
            }
        return response
