"""The API's models, one module per subject; everything is importable from here."""

from .tokens import ApiToken, TokenScope
from .webhooks import DeliveryStatus, WebhookDelivery, WebhookEvent, WebhookSubscription

__all__ = [
    "ApiToken",
    "TokenScope",
    "DeliveryStatus",
    "WebhookDelivery",
    "WebhookEvent",
    "WebhookSubscription",
]
