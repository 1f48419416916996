"""The caller's own notifications (the bell's list), and marking them read."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from accounts import services
from accounts.selectors import notification_rows
from api.idempotency import idempotent
from api.pagination import paged_response
from api.serializers.notifications import (
    NotificationFilter,
    NotificationReadResultSerializer,
    NotificationReadSerializer,
    NotificationSerializer,
)
from api.serializers.responses import (
    IDEMPOTENCY_KEY,
    PAGE_PARAMS,
    READ_ERRORS,
    WRITE_ERRORS,
    paged,
)
from api.views.base import ApiView

# Newest first, as the bell's list: the (user, -created_at, -id) index serves it.
NOTIFICATION_KEYSET = (("created_at", "desc"), ("pk", "desc"))


class NotificationList(ApiView):
    @extend_schema(
        operation_id="notifications_list",
        parameters=[NotificationFilter, *PAGE_PARAMS],
        responses={200: paged(NotificationSerializer), **READ_ERRORS},
    )
    def get(self, request):
        """Your own notifications, newest first; `unread=true` leaves out those read."""
        filters = NotificationFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        rows = notification_rows(user=request.user)
        unread = filters.validated_data.get("unread")
        if unread is not None:
            rows = rows.filter(read_at__isnull=unread)
        return paged_response(request, rows, NOTIFICATION_KEYSET, NotificationSerializer)


class NotificationRead(ApiView):
    @extend_schema(
        request=NotificationReadSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: NotificationReadResultSerializer, **WRITE_ERRORS},
    )
    @idempotent
    def post(self, request):
        """Mark some of your notifications read, or all of them."""
        body = NotificationReadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        ids = None if body.validated_data["all"] else body.validated_data["ids"]
        count = services.notifications_mark_read(user=request.user, ids=ids)
        return Response({"marked": count})
