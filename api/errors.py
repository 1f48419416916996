"""Every API error has one JSON shape:

    {"error": {"code": "...", "message": "...", "fields": {"field": ["..."]}}}

A rule a service refuses (django.core.exceptions.ValidationError, PermissionDenied) comes back
with the service's own words, as the pages show them, so a refused transfer names the unit and
the reason whatever the client.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from inventory.services.ledger import StaleUnits


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    body = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return {"error": body}


def _flatten(detail) -> list[str]:
    if isinstance(detail, dict):
        return [m for v in detail.values() for m in _flatten(v)]
    if isinstance(detail, list):
        return [m for v in detail for m in _flatten(v)]
    return [str(detail)]


def _fields(detail) -> dict:
    return {str(k): _flatten(v) for k, v in detail.items()}


def exception_handler(exc, context):
    if isinstance(exc, StaleUnits):
        # The caller's expected sequences are out of date: read the units again, then decide.
        return Response(
            error_body("stale", " ".join(exc.messages)), status=status.HTTP_409_CONFLICT
        )
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            fields = {k: [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()}
            general = fields.pop("__all__", [])
            message = " ".join(general) or "Some fields are not valid."
            return Response(
                error_body("rule", message, fields or None), status=status.HTTP_400_BAD_REQUEST
            )
        return Response(
            error_body("rule", " ".join(exc.messages)), status=status.HTTP_400_BAD_REQUEST
        )
    if isinstance(exc, DjangoPermissionDenied):
        message = str(exc) or "You may not do that."
        return Response(error_body("permission_denied", message), status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a 500: Django's handler logs it; nothing of it reaches the caller
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    if isinstance(exc, exceptions.ValidationError):
        if isinstance(detail, dict):
            fields = _fields(detail)
            general = fields.pop("non_field_errors", [])
            message = " ".join(general) or "Some fields are not valid."
        else:
            fields, message = None, " ".join(_flatten(detail))
        response.data = error_body("invalid", message, fields or None)
        return response
    code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
    response.data = error_body(str(code), " ".join(_flatten(detail)))
    return response
