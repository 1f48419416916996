"""Mixed traffic of the three roles against a server on this machine (not a pytest file).

    .venv/bin/locust -f tests/load/locustfile.py --config tests/load/locust.conf

Admins browse and search the whole inventory, events and users; dana (distributor, pooling
on) browses her pool and her reps' stock, accepts what her reps send back and hands units to
them; riley and sam (her pooled reps) browse, search, open their open events, mark a unit used
and unmark it, take units from the pool and send their own back to dana. Everyone waits 0 s.

A request fails on a 5xx, a timeout, or a wrong page (the login form, another page's title).
A lost race (somebody took the unit first) answered with a friendly message, on the page or
after a redirect, is not a failure. Only 127.0.0.1 or localhost may be targeted.
"""

from __future__ import annotations

import os
import random
import re
import sys
from html import unescape
from urllib.parse import urlencode, urlsplit

from locust import HttpUser, between, constant, events, task  # noqa: F401  (between: docs)

LOCAL_HOSTS = {"127.0.0.1", "localhost"}
PASSWORD = os.environ.get("TRUNKPOOL_DEMO_PASSWORD", "trunkpool-demo")

UNIT_INPUT = re.compile(r"<input[^>]*\bname=\"unit\"[^>]*>")
VALUE = re.compile(r"\bvalue=\"(\d+)\"")
SERIAL = re.compile(r'data-serial="([^"]+)"')
EVENT_LINK = re.compile(r'href="/events/(\d+)/"')
TRANSFER_LINK = re.compile(r'href="/inventory/transfers/(\d+)/"')
NEXT_LINK = re.compile(r'rel="next" href="([^"]+)"')
# What the page showed of its units, sent back with the form (README, "Stale pages").
SEEN_INPUT = re.compile(r'name="seen" value="([^"]*)"')
# The recipient box did not take the username: the load script, not a lost race.
WRONG_INPUT = ("Nobody you may pick here matches", "matches several people")
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
FRIENDLY = ("alert-danger", "alert-warning", "alert-error", "already", "not available")


def refuse(message: str) -> None:
    sys.stderr.write(f"locustfile: {message}\n")
    sys.exit(2)


@events.init.add_listener
def only_local_and_bounded(environment, **kwargs):
    host = environment.host or ""
    if urlsplit(host).hostname not in LOCAL_HOSTS:
        refuse(f"refusing to load {host!r}: only http://127.0.0.1:PORT or localhost.")
    options = environment.parsed_options
    if options is not None and not getattr(options, "run_time", None):
        refuse("give --run-time (e.g. 60s): a load test here is always bounded.")


def seen_of(html: str) -> str:
    """The page's `seen` field, as a browser sends it with the form ("" when it has none)."""
    match = SEEN_INPUT.search(html)
    return unescape(match.group(1)) if match else ""


def selectable_units(html: str, *, unmark: bool = False) -> list[str]:
    """Ids of enabled unit checkboxes: "Select ..." ones, or the "Unmark ..." ones."""
    ids = []
    for tag in UNIT_INPUT.findall(html):
        if "disabled" in tag or ('aria-label="Unmark' in tag) != unmark:
            continue
        match = VALUE.search(tag)
        if match:
            ids.append(match.group(1))
    return ids


class TrunkpoolUser(HttpUser):
    abstract = True
    wait_time = constant(0)
    connection_timeout = 10.0
    network_timeout = 20.0
    usernames: tuple[str, ...] = ()

    def on_start(self):
        if urlsplit(self.host).hostname not in LOCAL_HOSTS:
            refuse(f"refusing to load {self.host!r}")
        self.username = random.choice(self.usernames)
        self.serials: list[str] = []
        self.seen = ""
        page = self.client.get("/accounts/login/", name="login form")
        token = CSRF_INPUT.search(page.text)
        with self.client.post(
            "/accounts/login/",
            data={
                "username": self.username,
                "password": PASSWORD,
                "csrfmiddlewaretoken": token.group(1) if token else "",
            },
            headers={"Referer": self.host + "/accounts/login/"},
            allow_redirects=False,
            name="login",
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"login as {self.username} answered {response.status_code}")

    # ------------------------------------------------------------ plumbing
    def page(self, path: str, title: str, name: str | None = None) -> str:
        """GET a page; it must answer 200 with `title` in its <title>."""
        with self.client.get(path, name=name or path, catch_response=True) as response:
            text = response.text or ""
            head = text[: text.find("</title>") + 1] if "</title>" in text else ""
            if response.status_code != 200:
                response.failure(f"{response.status_code} for {path}")
            elif "/accounts/login/" in response.url or title not in head:
                response.failure(f"wrong page for {path}: {head[-120:]!r}")
            return text

    def post(self, path: str, data: dict, name: str, expect: str = "") -> bool:
        """POST a form; a redirect (to `expect`, when given) or a friendly refusal is fine."""
        data = {**data, "csrfmiddlewaretoken": self.client.cookies.get("csrftoken", "")}
        with self.client.post(
            path,
            data=data,
            headers={"Referer": self.host + path},
            allow_redirects=False,
            name=name,
            catch_response=True,
        ) as response:
            status = response.status_code
            location = response.headers.get("Location", "")
            if status >= 500:
                response.failure(f"{status} for POST {path}")
            elif status == 302 and "/accounts/login/" in location:
                response.failure(f"POST {path} was sent to the login page")
            elif status == 302:
                if expect and expect not in location:
                    response.failure(f"POST {path} went to {location}, not {expect}")
                return True
            elif status == 200 and any(word in response.text for word in WRONG_INPUT):
                response.failure(f"POST {path}: the form refused its own input")
            elif status == 200 and any(word in response.text for word in FRIENDLY):
                response.success()  # refused with a message: someone got there first
            else:
                response.failure(f"{status} for POST {path}")
        return False

    @task(1)
    def dashboard(self):
        self.page("/", "Dashboard")

    def browse(self, query: str) -> list[str]:
        html = self.page("/inventory/?" + query, "Inventory", name="/inventory/?" + query)
        # Now and then a person reads on: the Next link carries the last row's cursor.
        nxt = NEXT_LINK.search(html)
        if nxt and random.random() < 0.3:
            html = self.page(
                "/inventory/" + unescape(nxt.group(1)), "Inventory", name="/inventory/?after="
            )
        found = SERIAL.findall(html)
        if found:
            self.serials = (found + self.serials)[:200]
        self.seen = seen_of(html)
        return selectable_units(html)

    def search(self) -> None:
        if not self.serials:
            self.browse("")
        serial = random.choice(self.serials) if self.serials else "000"
        term = random.choice([serial, serial[2:7], "ZZQ-NO-SUCH-9"])
        self.page("/inventory/?" + urlencode({"q": term}), "Inventory", name="/inventory/?q=")

    def give(self, units: list[str], recipient: str, name: str) -> None:
        """Transfer one of `units` to `recipient` (completes at once or waits, as the rules say).
        The recipient is a type-ahead text box; without script it takes a username."""
        if not units:
            return
        unit = random.choice(units)
        self.post(
            "/inventory/transfers/new/",
            {"unit": unit, "recipient": recipient, "send": "1", "seen": self.seen},
            name=name,
            expect="/inventory/transfers/",
        )


class PooledRep(TrunkpoolUser):
    weight = 5
    usernames = ("riley", "sam")

    @task(4)
    def inventory(self):
        self.browse(random.choice(["custody=both", "custody=shared", "custody=mine", ""]))

    @task(3)
    def search_inventory(self):
        self.search()

    @task(2)
    def events(self):
        html = self.page("/events/?status=open", "Events", name="/events/?status=open")
        self.open_events = EVENT_LINK.findall(html)
        if self.open_events:
            self.page(f"/events/{random.choice(self.open_events)}/", "", name="/events/[id]/")

    @task(3)
    def mark_and_unmark(self):
        if not getattr(self, "open_events", None):
            self.events()
        if not self.open_events:
            return
        event = random.choice(self.open_events)
        use = f"/events/{event}/use/"
        # Earliest expiry first puts expired (disabled) units on top; pick from fresh stock.
        html = self.page(use + "?custody=both&expiry=later", "Mark Used", name="/events/[id]/use/")
        units = selectable_units(html)
        if units:
            unit = random.choice(units)
            seen = seen_of(html)
            if self.post(use, {"unit": unit, "seen": seen}, name="mark used", expect=use):
                self.post(
                    f"/events/{event}/unmark/",
                    {"unit": unit},
                    name="unmark",
                    expect=use,
                )

    @task(1)
    def take_from_pool(self):
        self.give(self.browse("custody=shared&state=available"), self.username, "take from pool")

    @task(1)
    def send_back_to_dana(self):
        self.give(self.browse("custody=mine&state=available"), "dana", "send to dana")

    @task(1)
    def transfers(self):
        self.page("/inventory/transfers/", "Transfers")


class Distributor(TrunkpoolUser):
    weight = 3
    usernames = ("dana",)

    @task(3)
    def inventory(self):
        self.browse(random.choice(["custody=both", "custody=reps", "custody=mine", ""]))

    @task(2)
    def search_inventory(self):
        self.search()

    @task(2)
    def events(self):
        html = self.page("/events/", "Events")
        found = EVENT_LINK.findall(html)
        if found:
            self.page(f"/events/{random.choice(found)}/", "", name="/events/[id]/")

    @task(3)
    def accept_waiting(self):
        html = self.page("/inventory/transfers/", "Transfers")
        waiting = html.split('id="waiting-on-me"', 1)[-1].split("</section>", 1)[0]
        found = TRANSFER_LINK.findall(waiting)
        if found:
            pk = random.choice(found[:10])
            self.post(
                f"/inventory/transfers/{pk}/accept/",
                {},
                name="accept transfer",
                expect="/inventory/transfers/",
            )

    @task(1)
    def hand_to_rep(self):
        self.give(
            self.browse("custody=mine&state=available"),
            random.choice(["riley", "sam"]),
            "hand to rep",
        )


class Admin(TrunkpoolUser):
    weight = 2
    usernames = ("admin",)

    @task(3)
    def inventory(self):
        self.browse(random.choice(["", "custodian=org", "state=available"]))

    @task(2)
    def search_inventory(self):
        self.search()

    @task(2)
    def events(self):
        status = random.choice(["", "open", "paid"])
        html = self.page("/events/?status=" + status, "Events", name="/events/?status=")
        found = EVENT_LINK.findall(html)
        if found:
            self.page(f"/events/{random.choice(found)}/", "", name="/events/[id]/")

    @task(1)
    def users(self):
        self.page("/users/", "Users")

    @task(1)
    def transfers(self):
        self.page("/inventory/transfers/", "Transfers")
