"""Signed webhooks: the outbox sink, signing, the SSRF-safe transport, delivery with retries, and
the services behind the admin pages (/integrations/webhooks/)."""
