"""/integrations/webhooks/: an organization's admins subscribe endpoints, see each one's
delivery log, rotate its secret, switch it off and on, and send a delivery again."""

from __future__ import annotations

import json
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.selectors import actor_for
from api.models import WebhookDelivery, WebhookSubscription
from api.webhooks import services
from api.webhooks.forms import SubscriptionForm
from api.webhooks.policies import can_manage_webhooks
from core.keyset import keyset_page
from core.outbox import EVENT_TYPES
from core.web import add_form_errors, flash_errors

SUBSCRIPTION_ORDER = [("created_at", "desc"), ("pk", "desc")]
DELIVERY_ORDER = [("created_at", "desc"), ("pk", "desc")]


def webhook_admin_required(view):
    """Anonymous visitors go to the login page; signed-in people who are not admins get 403."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.user.organization_id is None or not can_manage_webhooks(
            actor=actor_for(request.user)
        ):
            raise PermissionDenied("Only admins manage webhooks.")
        return view(request, *args, **kwargs)

    return wrapper


def _subscription(request, pk) -> WebhookSubscription:
    return get_object_or_404(WebhookSubscription.objects.visible_to(request.user), pk=pk)


def _delivery(request, pk, delivery_pk) -> WebhookDelivery:
    return get_object_or_404(
        WebhookDelivery.objects.select_related("event", "subscription").filter(
            subscription__in=WebhookSubscription.objects.visible_to(request.user),
            subscription_id=pk,
        ),
        pk=delivery_pk,
    )


@webhook_admin_required
def webhook_list_view(request):
    page = keyset_page(
        request, WebhookSubscription.objects.visible_to(request.user), SUBSCRIPTION_ORDER
    )
    return render(
        request,
        "api/webhook_list.html",
        {"subscriptions": page.rows, "page": page, "labels": EVENT_TYPES},
    )


def _show_secret(request, subscription, secret, *, created: bool):
    # The secret exists in plain text only in this answer (its views are never_cache).
    return render(
        request,
        "api/webhook_secret.html",
        {"subscription": subscription, "secret": secret, "created": created},
    )


@never_cache
@webhook_admin_required
def webhook_create_view(request):
    form = SubscriptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            subscription, secret = services.subscription_create(
                actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            return _show_secret(request, subscription, secret, created=True)
    return render(request, "api/webhook_form.html", {"form": form})


@webhook_admin_required
def webhook_detail_view(request, pk):
    subscription = _subscription(request, pk)
    page = keyset_page(
        request,
        subscription.deliveries.select_related("event"),
        DELIVERY_ORDER,
    )
    return render(
        request,
        "api/webhook_detail.html",
        {
            "subscription": subscription,
            "deliveries": page.rows,
            "page": page,
            "types": [(t, EVENT_TYPES.get(t, t)) for t in subscription.event_types],
            "overlap_until": subscription.previous_secret_until
            if subscription.previous_secret_until
            and subscription.previous_secret_until > timezone.now()
            else None,
        },
    )


@never_cache
@webhook_admin_required
@require_POST
def webhook_rotate_view(request, pk):
    subscription = _subscription(request, pk)
    secret = services.subscription_rotate_secret(actor=request.user, subscription=subscription)
    subscription.refresh_from_db()
    return _show_secret(request, subscription, secret, created=False)


@webhook_admin_required
@require_POST
def webhook_set_active_view(request, pk):
    subscription = _subscription(request, pk)
    value = request.POST.get("active")
    if value not in ("0", "1"):
        messages.error(request, "Say whether the subscription should be on (1) or off (0).")
        return redirect("integrations:webhook_detail", pk=subscription.pk)
    services.subscription_set_active(
        actor=request.user, subscription=subscription, active=value == "1"
    )
    messages.success(
        request, f"Deliveries to {subscription.url} are {'on' if value == '1' else 'off'}."
    )
    return redirect("integrations:webhook_detail", pk=subscription.pk)


@webhook_admin_required
def webhook_delivery_detail_view(request, pk, delivery_pk):
    delivery = _delivery(request, pk, delivery_pk)
    payload = json.dumps(delivery.event.payload, indent=2, sort_keys=True)
    return render(
        request, "api/webhook_delivery_detail.html", {"delivery": delivery, "payload": payload}
    )


@webhook_admin_required
@require_POST
def webhook_resend_view(request, pk, delivery_pk):
    delivery = _delivery(request, pk, delivery_pk)
    try:
        services.delivery_resend(actor=request.user, delivery=delivery)
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(
            request,
            f"Delivery of {delivery.event.type} queued again ({delivery.event.webhook_id}).",
        )
    return redirect("integrations:webhook_detail", pk=pk)
