"""The REST API (/api/v1/) and webhooks: serializers and views over the same selectors,
services and policies as the pages, tokens with scopes, throttling, and the webhook outbox."""
