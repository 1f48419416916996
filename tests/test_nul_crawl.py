"""A NUL byte (and, through the same rule, any control character) in any form field, filter or
query string is a form error: never a 500, never a change (the attack run's finding 2).

Nothing here lists the forms by hand. Every page the URL-permission matrix knows
(tests/test_url_permissions.py) is opened as the admin and the rep when they may (else a
distributor); every <form> on it is submitted once per field with a NUL byte in that field (GET
forms as a query string, POST forms as a post, file boxes with a CSV that holds a NUL), and every
JSON endpoint a page names in a data-*-url attribute or the matrix lists (holder, product and
@mention pickers, scan lookups) is asked with %00 in each of its parameters, and so is each
parameter of every link with a query string (tabs, filters, pages). A form met again
(another visitor, another object) is tried once. Each submission runs in a savepoint rolled back
after it, and the transaction's own table statistics show whether it wrote anything.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from tests.test_url_permissions import EXPECTATIONS, World, world  # noqa: F401  (fixture)

NUL = "R-1\x00'--"
VISITORS = ("admin", "distributor", "rep")
# Bookkeeping that any request may write: a session, sign-in throttling, rate counters.
BOOKKEEPING = ("django_session", "axes_", "accounts_ratecounter")
# Parameters JavaScript adds to the endpoints named in data-*-url attributes.
SCRIPT_PARAMS = ("q", "code", "context", "purpose", "exclude", "identity")
CSV_WITH_NUL = b"product,serial,lot,expires\nKNEE-1,R-\x00-1,L1,2030-01-01\n"


class Forms(HTMLParser):
    """Every <form> of a page (action, method, fields with their defaults, file boxes) and every
    data-*-url attribute."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self.urls: set[str] = set()
        self.links: set[str] = set()  # links with a query string: tabs, filters, pages
        self._form = None
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and "?" in (a.get("href") or ""):
            self.links.add(a["href"])
        for key, value in a.items():
            if key.startswith("data-") and key.endswith("-url") and value:
                self.urls.add(value)
        if tag == "form":
            self._form = {
                "action": a.get("action") or "",
                "method": (a.get("method") or "get").lower(),
                "fields": {},
                "files": [],
                "carried": set(),  # hidden inputs and buttons: the page's values, not typed
            }
            self.forms.append(self._form)
            return
        form = self._form
        if form is None or not a.get("name"):
            return
        name = a["name"]
        if tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind == "file":
                form["files"].append(name)
            elif kind in ("checkbox", "radio"):
                if "checked" in a:
                    form["fields"].setdefault(name, a.get("value") or "on")
                else:
                    form["fields"].setdefault(name, None)  # off, but a field to try
            else:
                form["fields"].setdefault(name, a.get("value") or "")
                if kind in ("hidden", "submit"):
                    form["carried"].add(name)
        elif tag == "select":
            self._select = name
            form["fields"].setdefault(name, None)
        elif tag == "option" and self._select:
            value = a.get("value", "")
            if form["fields"].get(self._select) is None or "selected" in a:
                form["fields"][self._select] = value
        elif tag == "textarea":
            self._textarea = name
            form["fields"].setdefault(name, "")
        elif tag == "button":
            form["fields"].setdefault(name, a.get("value") or "")
            form["carried"].add(name)

    def handle_data(self, data):
        if self._form is not None and self._textarea:
            self._form["fields"][self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def _route(path: str) -> str:
    """A path with its ids blanked: /events/3/edit/ and /events/4/edit/ are one form."""
    return "/".join("#" if part.isdigit() else part for part in path.split("/"))


def _writes() -> dict[str, int]:
    """Rows this transaction inserted, updated or deleted so far, by table."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_xact_user_tables"
        )
        return {
            table: n for table, n in cursor.fetchall() if n and not table.startswith(BOOKKEEPING)
        }


class Crawl:
    def __init__(self, matrix_world):
        self.world = matrix_world
        self.problems: list[str] = []
        self.tried: set = set()
        self.forms_seen: set = set()
        self.asked = 0

    def ask(self, client, method, url, data, where, *, files=None, defaults=None):
        """One request in a rolled-back savepoint: no 5xx, and no write. A value the page itself
        carries (a hidden "next", a button's value) may be ignored when it is not usable: then
        the same submission with the page's own values (`defaults`) must write just as much."""
        key = (client.visitor, method, url, tuple(sorted((data or {}).items(), key=str)))
        if key in self.tried:
            return
        self.tried.add(key)
        self.asked += 1
        with transaction.atomic():
            before = _writes()
            if method == "get":
                response = client.get(url, data)
            else:
                response = client.post(url, {**data, **(files or {})})
            after = _writes()
            transaction.set_rollback(True)
        changed = sorted(t for t in after if after[t] != before.get(t))
        if response.status_code >= 500:
            self.problems.append(f"{where}: {response.status_code}")
        elif changed and (defaults is None or changed != self._writes_of(client, url, defaults)):
            self.problems.append(f"{where}: {response.status_code} but wrote {changed}")

    def _writes_of(self, client, url, data):
        with transaction.atomic():
            before = _writes()
            client.post(url, data)
            after = _writes()
            transaction.set_rollback(True)
        return sorted(t for t in after if after[t] != before.get(t))

    def page(self, visitor, url, data):
        client = Client(raise_request_exception=False)
        client.visitor = visitor
        client.force_login(self.world.visitor(visitor))
        response = client.get(url, data)
        if response.status_code != 200:
            return
        if "json" in response.get("Content-Type", ""):
            # A picker or lookup the matrix names itself (the product picker, say, sits on a
            # page that only a scan opens).
            self.endpoint(client, f"{url}?{urlencode(data)}")
            return
        if "html" not in response.get("Content-Type", ""):
            return
        parser = Forms()
        parser.feed(response.content.decode())
        for form in parser.forms:
            self.form(client, url, form)
        for endpoint in parser.urls:
            self.endpoint(client, urljoin(url, endpoint))
        for link in parser.links:
            self.endpoint(client, urljoin(url, link), script_params=())
        # Keyset cursors and page numbers, once per page whoever opens it.
        for params in ({"after": NUL, "page": NUL}, {"before": NUL}):
            key = ("page", url, tuple(params))
            if key not in self.forms_seen:
                self.forms_seen.add(key)
                self.ask(client, "get", url, params, f"GET {url}?{'&'.join(params)}=NUL")

    def form(self, client, page, form):
        action = urljoin(page, form["action"]) if form["action"] else page
        if urlsplit(action).netloc:
            return
        path = urlsplit(action).path
        query = dict(parse_qsl(urlsplit(action).query))
        defaults = {
            name: value for name, value in form["fields"].items() if value is not None
        } | query
        defaults.pop("csrfmiddlewaretoken", None)
        method = form["method"]
        # The same form on another page or for another visitor is tried once.
        signature = (method, _route(path), frozenset(form["fields"]), frozenset(form["files"]))
        if signature in self.forms_seen:
            return
        self.forms_seen.add(signature)
        for name in [*form["fields"], *query]:
            if name == "csrfmiddlewaretoken":
                continue
            data = {**defaults, name: NUL}
            where = f"{method.upper()} {path} [{name}=NUL] from {page} as {client.visitor}"
            carried = name in form["carried"] and method == "post"
            self.ask(client, method, path, data, where, defaults=defaults if carried else None)
        for name in form["files"]:
            upload = SimpleUploadedFile("units.csv", CSV_WITH_NUL, content_type="text/csv")
            where = f"POST {path} [{name}=CSV with NUL] from {page} as {client.visitor}"
            self.ask(client, "post", path, defaults, where, files={name: upload})

    def endpoint(self, client, url, *, script_params=SCRIPT_PARAMS):
        parts = urlsplit(url)
        if parts.path.startswith("/static/") or parts.netloc not in ("", "testserver"):
            return
        params = dict(parse_qsl(parts.query))
        for name in dict.fromkeys([*params, *script_params]):
            key = ("endpoint", _route(parts.path), name)
            if key in self.forms_seen:
                continue
            self.forms_seen.add(key)
            data = {**params, name: NUL}
            where = f"GET {parts.path}?{name}=NUL as {client.visitor}"
            self.ask(client, "get", parts.path, data, where)


@pytest.mark.postgres
def test_a_nul_byte_in_any_field_of_any_form_or_filter_is_never_a_500_nor_a_change(world):  # noqa: F811
    crawl = Crawl(world)
    for name, expect in sorted(EXPECTATIONS.items()):
        if expect.method != "get":
            continue
        # The admin's and the rep's pages hold every form; a distributor opens the pages
        # neither of them may.
        allowed = [v for v in VISITORS if expect.status_for(v) == 200]
        for visitor in [v for v in allowed if v != "distributor"] or allowed[:1]:
            crawl.page(visitor, reverse(name, kwargs=expect.kwargs(world)), expect.data(world))
    assert crawl.asked > 300, crawl.asked  # the crawl reached the forms, not only the pages
    assert not crawl.problems, f"{len(crawl.problems)} of {crawl.asked}:\n" + "\n".join(
        crawl.problems
    )
