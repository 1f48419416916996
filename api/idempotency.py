"""`Idempotency-Key` on API writes: a retried call gets the first answer, and acts once.

The key is kept as an events.ClientOperation, the same record an offline phone's mark is kept
as: its id is a UUID derived from the caller and the key (so two callers' keys never collide),
and the primary key is what makes a retry a no-op. The row is inserted, in the same transaction
as the action, before the action runs: a retry racing the first call waits on that insert and
then reads the committed answer. A refusal (4xx) is kept too, so a retry is refused alike; a
failure of ours (5xx) keeps nothing, so a retry tries again. The same key sent with another
method, path or body is a 422, never someone else's answer.
"""

from __future__ import annotations

import functools
import hashlib
import json
import uuid

from django.db import IntegrityError, transaction
from rest_framework import status
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from api.errors import error_body
from events.models import ClientOperation

HEADER = "Idempotency-Key"
_NAMESPACE = uuid.UUID("6f1f6c2e-6d1c-4c4b-9a43-1b0d7f3f9a51")
MAX_KEY_LENGTH = 255


def operation_id(user_id: int, key: str) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"{user_id}:{key}")


def _fingerprint(request) -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}\n".encode())
    # Read before the handler parses it (Django caches the body for the parser).
    digest.update(request._request.body)
    return digest.hexdigest()


def _replay(op: ClientOperation, fingerprint: str) -> Response:
    if op.request_hash != fingerprint:
        return Response(
            error_body(
                "idempotency_key_reused",
                "This Idempotency-Key was used for a different request; use a new key.",
            ),
            status=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    response = Response(op.answer or None, status=op.status_code)
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent(handler):
    """Decorate a write handler of an APIView (`def post(self, request, ...)`)."""

    @functools.wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return handler(view, request, *args, **kwargs)
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable() or not key.isascii():
            return Response(
                error_body(
                    "invalid",
                    f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters.",
                ),
                status=status.HTTP_400_BAD_REQUEST,
            )
        user = request.user
        op_id = operation_id(user.pk, key)
        fingerprint = _fingerprint(request)
        for _ in range(2):
            done = ClientOperation.objects.filter(pk=op_id).first()
            if done is not None:
                return _replay(done, fingerprint)
            response = _first_call(view, handler, request, args, kwargs, op_id, fingerprint)
            if response is not None:
                return response
            # A concurrent call with the same key committed first: answer as it did.
        return _replay(ClientOperation.objects.get(pk=op_id), fingerprint)

    return wrapper


def _first_call(view, handler, request, args, kwargs, op_id, fingerprint) -> Response | None:
    """The call acted on and its answer kept; None when another call with the key won the
    insert (only that insert's IntegrityError means so: the action's own is its answer)."""
    user = request.user
    with transaction.atomic():
        try:
            with transaction.atomic():
                op = ClientOperation.objects.create(
                    id=op_id,
                    organization_id=user.organization_id,
                    user=user,
                    kind=ClientOperation.Kind.API,
                    how=ClientOperation.How.API,
                    label=f"{request.method} {request.path}"[:500],
                    status=ClientOperation.Status.APPLIED,
                    request_hash=fingerprint,
                )
        except IntegrityError:
            return None
        try:
            with transaction.atomic():
                response = handler(view, request, *args, **kwargs)
                if response.status_code >= 400:
                    transaction.set_rollback(True)
        except Exception as exc:  # noqa: BLE001 - turned into the API's answer, or re-raised
            response = view.handle_exception(exc)
        if response.status_code >= 500:
            transaction.set_rollback(True)
            return response
        op.status_code = response.status_code
        data = response.data if response.data is not None else {}
        op.answer = json.loads(json.dumps(data, cls=JSONEncoder))
        if response.status_code >= 400:
            op.status = ClientOperation.Status.REFUSED
            op.message = str(data.get("error", {}).get("message", ""))[:500]
        op.save(update_fields=["status_code", "answer", "status", "message"])
    return response
