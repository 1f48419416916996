"""Plans events with their lines and usage, comments with @mentions, and notifications."""

from __future__ import annotations

import time
from collections import defaultdict

from django.urls import reverse

from bench.build.common import (
    COMMENT_PHRASES,
    DAY,
    NULL,
    esc,
    null_or,
    ts,
)


class EventPlan:
    """Plans events with their lines and usage, comments with @mentions, and notifications."""

    # ---------------------------------------------------------------- events
    def plan_events(self) -> None:
        s, rng = self.scale, self.rng
        reps_weight = []
        people = []
        for rep in self.reps:
            w = 1.0
            if rep == self.riley:
                w = 12.0
            elif rep == self.sam:
                w = 6.0
            elif self.dist_of.get(rep) == self.dana:
                w = 2.0
            people.append(rep)
            reps_weight.append(w)
        for dist in self.dists:
            people.append(dist)
            reps_weight.append(20.0 if dist == self.dana else 4.0)
        count = s.events
        who = rng.choices(people, reps_weight, k=count - 1)
        span = self.now + 30 * DAY - self.start
        plan = []  # (at, rep, type)
        for rep in who:
            at = self.start + rng.randrange(span)
            if self.role[rep] == "distributor":
                kind = rng.choices(
                    ["case", "stocking_order", "damage", "return", "adjustment", "other"],
                    [50, 40, 3, 3, 2, 2],
                )[0]
            else:
                kind = rng.choices(
                    ["case", "stocking_order", "damage", "return", "adjustment", "other"],
                    [88, 2, 2, 3, 2, 3],
                )[0]
            plan.append((at, rep, kind, False))
        # Riley's big open knee case at St. Mary's, tomorrow: the Mark Used page to time.
        plan.append((self.now + DAY, self.riley, "case", True))
        plan.sort()
        mean = {
            "case": 1.0,
            "stocking_order": 4.0,
            "damage": 1.0,
            "return": 1.0,
            "adjustment": 1.0,
            "other": 0.5,
        }
        expected = sum(mean[p[2]] for p in plan)
        scale = s.event_lines / expected if expected else 0
        ids = self.take_ids("Event", len(plan))
        self.event_rows = []
        self.eline_rows_plan = []  # (event id, unit idx, billable, from stock, marked by, at)
        self.used_in_case: set[int] = set()
        self.event_name: dict[int, str] = {}
        facility_stock: dict[tuple[int, int], list[int]] = defaultdict(list)
        sold_at: dict[int, int] = {}
        procedure_name = {pk: name for name, pk in self.procedures.items()}
        status_count: dict[str, int] = defaultdict(int)
        procedures = self.procedure_ids
        tka = self.procedures.get("Total knee arthroplasty", procedures[0])
        labels = {
            "case": "Case",
            "stocking_order": "Stocking Order",
            "damage": "Damage",
            "return": "Return",
            "adjustment": "Stock Adjustment",
            "other": "Other",
        }
        for eid, (at, rep, kind, big) in zip(ids, plan, strict=True):
            dist = rep if self.role[rep] == "distributor" else self.dist_of.get(rep)
            pooled = dist is not None and dist != rep and self.pooled[dist]
            if big:
                facility = self.st_marys
            elif dist is not None and rng.random() < 0.85:
                facility = rng.choice(self.home_facilities[dist])
            else:
                facility = rng.choice(self.facility_ids)
            age = self.now - at
            if at > self.now:
                status = "open" if big or rng.random() < 0.95 else "cancelled"
            elif age < 14 * DAY:
                status = rng.choices(["open", "submitted", "cancelled"], [40, 50, 10])[0]
            else:
                status = rng.choices(
                    ["paid", "completed", "submitted", "cancelled", "open"], [55, 20, 19.5, 5, 0.5]
                )[0]
            procedure = (
                tka
                if big
                else (rng.choice(procedures) if kind == "case" or rng.random() < 0.2 else None)
            )
            physician = rng.choice(self.physician_ids) if kind == "case" else None
            created_by = rep if rng.random() < 0.9 or dist is None else dist
            created_at = min(self.now - 60, at - rng.randrange(DAY, 14 * DAY))
            submitted_at = None
            if status in ("submitted", "completed", "paid"):
                submitted_at = min(self.now - 30, at + rng.randrange(3600, 2 * DAY))
            # Lines.
            if big:
                k = 40
            elif status == "cancelled":
                k = 0
            else:
                x = rng.expovariate(1 / (mean[kind] * scale)) if scale else 0
                k = int(x) + (1 if rng.random() < x - int(x) else 0)
            event_day = (at - self.now) // DAY
            marker = rep if dist is None or rng.random() < 0.9 else dist
            if at < self.now:
                mark_at = min(self.now - 120, at - rng.randrange(0, 3 * DAY))
            else:
                mark_at = self.now - rng.randrange(120, 3 * DAY)
            lines = []
            for _ in range(k):
                unit, from_stock = None, False
                if kind == "case" and rng.random() < 0.15:
                    # Facility stock at this facility: sold by the rep, or by the distributor
                    # while pooling is on; sold before this case.
                    for holder in (rep, dist if pooled else None):
                        stock = facility_stock.get((facility, holder)) if holder else None
                        if stock and sold_at[stock[-1]] < mark_at:
                            unit, from_stock = stock.pop(), True
                            if self.expiry[unit] is not None and self.expiry[unit] < event_day:
                                self.expiry[unit] = event_day + rng.randrange(30, 720)
                            break
                if unit is None:
                    holder = dist if pooled and rng.random() < 0.5 else rep
                    got = self.draw(holder, 1, mark_at, usable_on=event_day) or self.draw(
                        rep, 1, mark_at, usable_on=event_day
                    )
                    if not got:
                        continue
                    unit = got[0]
                lines.append((unit, from_stock))
            for unit, from_stock in lines:
                self.entry(
                    unit,
                    "marked_used",
                    "allocated",
                    marker,
                    mark_at,
                    behalf=rep if marker != rep else None,
                    event=eid,
                )
                self.eline_rows_plan.append(
                    (eid, unit, not from_stock, from_stock, marker, mark_at)
                )
            if submitted_at is not None:
                for unit, from_stock in lines:
                    if kind == "stocking_order":
                        self.entry(
                            unit,
                            "sold_to_facility",
                            "facility_stock",
                            rep,
                            submitted_at,
                            to_custodian=rep,
                            event=eid,
                            note=esc(f"Sold to {self.facility_name[facility]}"),
                            to_location=None,
                        )
                        self.facility[unit] = facility
                        facility_stock[(facility, rep)].append(unit)
                        sold_at[unit] = submitted_at
                    elif kind in ("damage", "return", "adjustment"):
                        self.entry(
                            unit,
                            "adjusted",
                            "inactive",
                            rep,
                            submitted_at,
                            event=eid,
                            note=labels[kind],
                        )
                    elif self.product_single[self.product[unit]] or from_stock:
                        self.entry(unit, "consumed", "inactive", rep, submitted_at, event=eid)
                        if kind == "case":
                            self.used_in_case.add(unit)
                    else:
                        self.entry(
                            unit,
                            "unmarked",
                            "available",
                            rep,
                            submitted_at,
                            event=eid,
                            note="Reusable: back in stock after the case",
                        )
            status_count[status] += 1
            what = f" · {procedure_name[procedure]}" if procedure else ""
            day = time.strftime("%Y-%m-%d", time.gmtime(at))
            name = f"{labels[kind]}{what} · {self.facility_name[facility]} · {day}"
            self.event_name[eid] = name[:200]
            self.event_rows.append(
                "\t".join(
                    [
                        str(eid),
                        str(self.org),
                        kind,
                        esc(name[:200]),
                        str(rep),
                        str(facility),
                        null_or(physician),
                        null_or(procedure),
                        ts(at),
                        f"PT-{rng.randrange(10**6):06d}"
                        if kind == "case" and rng.random() < 0.5
                        else "",
                        "",
                        status,
                        f"PO-{eid}" if status in ("completed", "paid") else "",
                        str(created_by),
                        ts(created_at),
                        NULL if submitted_at is None else ts(submitted_at),
                    ]
                )
            )
        self.event_plan = list(zip(ids, plan, strict=True))
        self.report.counts["events"] = len(self.event_rows)
        for status, n in sorted(status_count.items()):
            self.report.counts[f"events {status}"] = n
        self.report.counts["event lines"] = len(self.eline_rows_plan)

    # ---------------------------------------------------------------- comments
    def plan_comments(self) -> None:
        rng = self.rng
        count = self.scale.events // 8
        self.comment_rows, self.mention_rows = [], []
        events = self.event_plan
        comment_ids = iter(self.take_ids("Comment", count))
        for _ in range(count):
            eid, (at, rep, _kind, _big) = rng.choice(events)
            dist = rep if self.role[rep] == "distributor" else self.dist_of.get(rep)
            r = rng.random()
            if r < 0.6 or dist is None:
                author, target = rep, dist if dist and dist != rep else self.admins[0]
            elif r < 0.85:
                author, target = dist, rep if rep != dist else self.admins[0]
            else:
                author, target = self.admins[0], rep
            when = min(self.now - 60, at + rng.randrange(-3 * DAY, 3 * DAY))
            cid = next(comment_ids)
            mention = rng.random() < 0.6 and target != author
            body = rng.choice(COMMENT_PHRASES)
            if mention:
                body = f"@{self.username[target]} {body}"
            self.comment_rows.append(f"{cid}\t{eid}\t{author}\t{esc(body)}\t{ts(when)}\t{NULL}")
            if mention:
                self.mention_rows.append((cid, target))
                read = NULL if rng.random() < 0.3 else ts(min(self.now, when + 3600))
                self.notify(
                    target,
                    "mention",
                    author,
                    f"{self.display[author]} mentioned you on {self.event_name[eid]}",
                    self.event_url(eid) + f"#comment-{cid}",
                    when,
                    read=read,
                    event=eid,
                    comment=cid,
                )
        self.report.counts["comments"] = len(self.comment_rows)

    def event_url(self, eid: int) -> str:
        if not hasattr(self, "_event_url"):
            self._event_url = reverse("events:event_detail", args=[987654321])
        return self._event_url.replace("987654321", str(eid))

    def notify(
        self,
        user,
        kind,
        actor,
        summary,
        url,
        at,
        *,
        read=NULL,
        event=None,
        comment=None,
        transfer=None,
        recall=None,
    ) -> None:
        """One accounts.Notification row (the bell), as the services would have written it."""
        self.notification_rows.append(
            f"{user}\t{kind}\t{null_or(actor)}\t{esc(summary[:300])}\t{esc(url)}\t{null_or(event)}"
            f"\t{null_or(comment)}\t{null_or(transfer)}\t{null_or(recall)}\t{ts(at)}\t{read}"
        )
