"""Read a rendered page's forms as a browser would, for tests that post them.

A form that acts on units carries what the page showed of them (the hidden `seen` field,
README "Stale pages"); a test posts the value the page gave, never one it made up.
"""

from __future__ import annotations

from html.parser import HTMLParser


class _SeenFields(HTMLParser):
    def __init__(self):
        super().__init__()
        self.values: list[str] = []

    def handle_starttag(self, tag, attrs):
        fields = dict(attrs)
        if tag == "input" and fields.get("name") == "seen":
            self.values.append(fields.get("value") or "")


def seen_fields(html: str) -> list[str]:
    """Every `seen` field's value on the page, in order."""
    parser = _SeenFields()
    parser.feed(html)
    return parser.values


def seen_on(client, url: str, *, index: int = 0) -> str:
    """GET `url` as the client's user and return its `index`-th `seen` field's value."""
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    values = seen_fields(response.content.decode())
    assert len(values) > index, f"no seen field #{index} on {url}"
    return values[index]


def page_seen(client, name: str, unit_ids, *, index: int = 0, **params) -> str:
    """The `seen` field of the page `name` opened for `unit_ids` (?unit=...), as the form a
    person submits after looking at it (the transfer and move pages)."""
    from urllib.parse import urlencode

    from django.urls import reverse

    query = urlencode({"unit": list(unit_ids), **params}, doseq=True)
    return seen_on(client, f"{reverse(name)}?{query}", index=index)


def transfer_seen(client, unit_ids) -> str:
    return page_seen(client, "inventory:transfer_new", unit_ids)
