"""Plans units and their stories in the ledger: receipts, transfers, moves, recalls and par levels."""

from __future__ import annotations

import json
from collections import defaultdict

from django.urls import reverse

from bench.build.common import (
    DAY,
    DECLINE_REASONS,
    NULL,
    esc,
    null_or,
    ts,
)


class UnitPlan:
    """Plans units and their stories in the ledger: receipts, transfers, moves, recalls and par levels."""

    # ---------------------------------------------------------------- units
    def plan_units(self) -> None:
        s, rng = self.scale, self.rng
        n = s.units
        self.unit_ids = self.take_ids("Unit", n)
        holders: list[int | None] = [None]
        weights = [0.06 * n]
        dist_weight = {d: (4.0 if d == self.dana else 1.0) for d in self.dists}
        total = sum(dist_weight.values())
        for d, w in dist_weight.items():
            holders.append(d)
            weights.append(0.44 * n * w / total)
        rep_weight = {r: (5.0 if r in (self.riley, self.sam) else 1.0) for r in self.reps}
        total = sum(rep_weight.values())
        for r, w in rep_weight.items():
            holders.append(r)
            weights.append(0.50 * n * w / total)
        self.holder = rng.choices(holders, weights, k=n)
        product_ids = [p[0] for p in self.products]
        self.product = rng.choices(product_ids, k=n)
        self.custodian = list(self.holder)
        self.state = ["available"] * n
        self.seq = [1] * n
        self.facility: dict[int, int] = {}
        self.location = [
            rng.choice(self.bins_of[h])
            if h in self.bins_of and rng.random() < 0.25
            else self.home_location.get(h)
            for h in self.holder
        ]
        self.first_location = list(self.location)
        self.lot: dict[int, str] = {}  # lots recalls name, instead of the derived one
        span = self.now - self.start - 10 * DAY
        self.created = [self.start + int(rng.random() * span) for _ in range(n)]
        # Expiry in days from today: a few expired, some within 30 days, most years out.
        self.expiry: list[int | None] = []
        for i in range(n):
            if not self.product_expires[self.product[i]]:
                self.expiry.append(None)
                continue
            r = rng.random()
            if r < 0.02:
                self.expiry.append(-rng.randrange(1, 120))
            elif r < 0.07:
                self.expiry.append(rng.randrange(0, 31))
            else:
                self.expiry.append(rng.randrange(31, 5 * 365))
        # Stock each holder can still give to a story, in random order.
        self.pool: dict[int | None, list[int]] = defaultdict(list)
        for i, h in enumerate(self.holder):
            self.pool[h].append(i)

    def draw(
        self, holder: int | None, count: int, at: int, *, usable_on: int | None = None
    ) -> list[int]:
        """Up to `count` untouched available units of `holder`, received before `at`."""
        stock = self.pool.get(holder)
        taken = []
        while stock and len(taken) < count:
            i = stock.pop()
            if self.created[i] >= at:
                self.created[i] = max(self.start - 60 * DAY, at - self.rng.randrange(DAY, 90 * DAY))
            if usable_on is not None and self.expiry[i] is not None and self.expiry[i] < usable_on:
                # Nobody marks an expired unit used; this one came with a later expiry.
                self.expiry[i] = usable_on + self.rng.randrange(30, 720)
            taken.append(i)
        return taken

    def entry(
        self,
        i: int,
        kind: str,
        to_state: str,
        actor: int,
        at: int,
        *,
        to_custodian=...,
        behalf=None,
        transfer=None,
        event=None,
        note: str = "",
        to_location=...,
        recall=None,
    ) -> None:
        """Append the unit's next ledger entry and move the unit to match."""
        before_c, before_s = self.custodian[i], self.state[i]
        after_c = before_c if to_custodian is ... else to_custodian
        before_l = self.location[i]
        after_l = before_l if to_location is ... else to_location
        self.seq[i] += 1
        self.entries.append(
            "\t".join(
                [
                    str(self.org),
                    str(self.unit_ids[i]),
                    str(self.seq[i]),
                    kind,
                    null_or(before_c),
                    null_or(after_c),
                    before_s,
                    to_state,
                    str(actor),
                    null_or(behalf),
                    null_or(transfer),
                    null_or(event),
                    ts(at),
                    note,
                    null_or(before_l),
                    null_or(after_l),
                    null_or(recall),
                ]
            )
        )
        self.custodian[i] = after_c
        self.state[i] = to_state
        self.location[i] = after_l

    # ---------------------------------------------------------------- transfers
    def plan_transfers(self) -> None:
        rng = self.rng
        count = self.scale.transfer_count
        ids = iter(self.take_ids("Transfer", count))
        self.transfer_rows: list[str] = []
        self.tline_pairs: list[tuple[int, int]] = []
        dists = [d for d in self.dists if self.reps_of[d]]
        weights = [8 if d == self.dana else 1 for d in dists]
        self.transfers_url = reverse("inventory:transfer_list")
        status_count: dict[str, int] = defaultdict(int)
        misses = 0
        while len(self.transfer_rows) < count and misses < count:
            dist = rng.choices(dists, weights)[0]
            reps = self.reps_of[dist]
            r = rng.random()
            at_once = True
            on_behalf = None
            if r < 0.30 or (r < 0.40 and not self.pooled[dist]):
                sender, recipient, starter = dist, rng.choice(reps), dist
            elif r < 0.40:  # a pooled rep takes from the pool: completes at once
                sender, recipient = dist, rng.choice(reps)
                starter = recipient
            elif r < 0.50 and len(reps) > 1:  # the distributor moves stock between two reps
                sender, recipient = rng.sample(reps, 2)
                starter, on_behalf = dist, sender
            elif r < 0.65:
                sender, recipient, starter = None, dist, rng.choice(self.admins)
            elif r < 0.85 and len(reps) > 1:
                sender, recipient = rng.sample(reps, 2)
                starter, at_once = sender, False
            else:
                sender, recipient = rng.choice(reps), dist
                starter, at_once = sender, False
            outcome = "completed"
            if not at_once:
                outcome = rng.choices(
                    ["completed", "pending", "declined", "cancelled"], [50, 17, 17, 16]
                )[0]
            if outcome == "pending":
                at = self.now - rng.randrange(600, 10 * DAY)
            else:
                at = self.start + 90 * DAY + rng.randrange(self.now - self.start - 92 * DAY)
            units = self.draw(sender, rng.choice((1, 1, 2, 2, 3, 3)), at)
            if not units:
                misses += 1
                continue
            tid = next(ids)
            for i in units:
                self.tline_pairs.append((tid, i))
                self.entry(
                    i, "transfer_sent", "in_transit", starter, at, behalf=on_behalf, transfer=tid
                )
            resolved_at = resolved_by = None
            to_location = None
            decline = ""
            if outcome != "pending":
                resolved_at = (
                    at if at_once else min(self.now - 60, at + rng.randrange(600, 3 * DAY))
                )
            if outcome == "completed":
                if at_once:
                    resolved_by = starter
                elif self.role[recipient] == "rep" and rng.random() < 0.3:
                    resolved_by = self.dist_of[recipient]
                else:
                    resolved_by = recipient
                if recipient is not None and rng.random() < 0.5:
                    to_location = self.home_location.get(recipient)
                for i in units:
                    self.entry(
                        i,
                        "transfer_accepted",
                        "available",
                        resolved_by,
                        resolved_at,
                        to_custodian=recipient,
                        behalf=self.behalf(resolved_by, recipient),
                        transfer=tid,
                        to_location=to_location,
                    )
            elif outcome == "declined":
                resolved_by = recipient
                decline = rng.choice(DECLINE_REASONS)
                release = rng.random() < 0.4
                for i in units:
                    self.entry(
                        i,
                        "transfer_declined",
                        "hold",
                        resolved_by,
                        resolved_at,
                        behalf=self.behalf(resolved_by, recipient),
                        transfer=tid,
                        note=esc(decline),
                    )
                    if release:
                        self.entry(
                            i,
                            "hold_released",
                            "available",
                            self.admins[0],
                            min(self.now - 30, resolved_at + rng.randrange(DAY, 5 * DAY)),
                            note="Checked and released",
                        )
            elif outcome == "cancelled":
                resolved_by = starter
                for i in units:
                    self.entry(
                        i,
                        "transfer_cancelled",
                        "available",
                        starter,
                        resolved_at,
                        behalf=on_behalf,
                        transfer=tid,
                    )
            status_count[outcome] += 1
            if outcome == "pending" and recipient is not None:
                self.notify(
                    recipient,
                    "transfer_waiting",
                    starter,
                    f"Transfer #{tid} from {self.display.get(sender, 'the organization')} "
                    f"waits on you: {len(units)} unit{'s' if len(units) > 1 else ''}",
                    self.transfers_url,
                    at,
                    transfer=tid,
                )
            self.transfer_rows.append(
                "\t".join(
                    [
                        str(tid),
                        str(self.org),
                        null_or(sender),
                        null_or(recipient),
                        str(starter),
                        null_or(on_behalf),
                        outcome,
                        null_or(to_location),
                        "",
                        esc(decline),
                        ts(at),
                        NULL if resolved_at is None else ts(resolved_at),
                        null_or(resolved_by),
                    ]
                )
            )
        self.report.counts["transfers"] = len(self.transfer_rows)
        for status, n in sorted(status_count.items()):
            self.report.counts[f"transfers {status}"] = n
        self.report.counts["transfer lines"] = len(self.tline_pairs)

    # ---------------------------------------------------------------- moves
    def plan_moves(self) -> None:
        """Distributors restock their hospital bins from the warehouse (and back): "moved"
        entries that change only the location, on units no story has touched."""
        rng = self.rng
        moved = 0
        for dist, bins in self.bins_of.items():
            home = self.home_location.get(dist)
            stock = self.pool.get(dist) or []
            if home is None or not bins:
                continue
            for _ in range(len(stock) // 30):
                i = stock.pop()
                to = rng.choice(bins) if self.location[i] == home else home
                at = self.created[i] + int(rng.random() * (self.now - 2 * DAY - self.created[i]))
                actor = dist if rng.random() < 0.9 else self.admins[0]
                self.entry(
                    i,
                    "moved",
                    "available",
                    actor,
                    max(at, self.created[i] + 60),
                    behalf=self.behalf(actor, dist),
                    to_location=to,
                    note="Restocked" if to != home else "Back to the warehouse",
                )
                moved += 1
        self.report.counts["units moved"] = moved

    # ---------------------------------------------------------------- recalls
    def plan_recalls(self) -> None:
        """Three recalls, recorded a moment ago, after every story:

        - a lot of about 500 units of one product, spread over many holders and states
          (facility stock, a unit consumed in a submitted case, allocated on open events, in
          transit), the lookup to time; available, hold and facility stock units quarantined;
        - a few serials of another product, half of them returned to the manufacturer;
        - a lot entered in error and withdrawn: its units back where they were.
        """
        rng = self.rng
        self.recall_rows, self.recall_unit_rows, self.recall_return_rows = [], [], []
        by_product: dict[int, list[int]] = defaultdict(list)
        stock_count: dict[int, int] = defaultdict(int)
        for i, pid in enumerate(self.product):
            by_product[pid].append(i)
            if self.state[i] == "facility_stock":
                stock_count[pid] += 1
        # The lot's product: the one with the most facility stock (a case used one, too).
        candidates = sorted(by_product, key=lambda p: (-stock_count[p], p))
        product = next(
            (p for p in candidates if any(i in self.used_in_case for i in by_product[p])),
            candidates[0],
        )
        units = by_product[product]
        picked: list[int] = []
        for state, most in (
            ("facility_stock", 60),
            ("allocated", 8),
            ("in_transit", 5),
            ("hold", 5),
        ):
            picked += [i for i in units if self.state[i] == state][:most]
        picked += [i for i in units if i in self.used_in_case][:20]
        chosen = set(picked)
        rest = [i for i in units if i not in chosen and self.state[i] == "available"]
        rng.shuffle(rest)
        picked += rest[: max(0, 500 - len(picked))]
        self.recall_lot = f"RCL-{self.product_code[product]}-{product:05d}"
        ids = iter(self.take_ids("Recall", 3))
        at = self.now - 25
        admin = self.admins[0]
        rid = next(ids)
        self.recall_big = rid
        self.recall_row(rid, "BENCH-R1", "II", product, [self.recall_lot], [], at)
        self.quarantine(rid, "BENCH-R1", picked, at, lot=self.recall_lot)
        # A few serials of another serial-tracked product; half of them returned.
        serial_products = [
            p for p in candidates if p != product and self.product_meta[p][2] == "serial"
        ]
        taken = set(picked)
        rid = next(ids)
        p2 = serial_products[0] if serial_products else candidates[-1]
        few = [i for i in by_product[p2] if self.state[i] == "available" and i not in taken][:12]
        taken |= set(few)
        serials = [f"{self.product_code[p2]}{self.unit_ids[i]:08d}" for i in few]
        self.recall_row(rid, "BENCH-R2", "I", p2, [], serials, at + 1)
        self.quarantine(rid, "BENCH-R2", few, at + 1)
        (return_id,) = self.take_ids("RecallReturn", 1)
        self.recall_return_rows.append(
            f"{return_id}\t{rid}\tRMA-BENCH-1\t{self.day(0)}\t{admin}\t{ts(at + 10)}"
        )
        for i in few[: len(few) // 2]:
            self.entry(
                i,
                "returned",
                "inactive",
                admin,
                at + 10,
                recall=rid,
                note="Returned to the manufacturer under recall BENCH-R2 (RMA-BENCH-1)",
            )
            self.returned_in[(rid, i)] = return_id
        # A lot entered in error, then withdrawn: each unit back to the state it had.
        rid = next(ids)
        p3 = candidates[1] if len(candidates) > 1 else product
        wrong = [i for i in by_product[p3] if self.state[i] == "available" and i not in taken][:8]
        lot = f"WD-{self.product_code[p3]}-{p3:05d}"
        self.recall_row(rid, "BENCH-R3", "III", p3, [lot], [], at + 2, withdrawn=(admin, at + 15))
        self.quarantine(rid, "BENCH-R3", wrong, at + 2, lot=lot)
        for i in wrong:
            self.entry(
                i,
                "recall_withdrawn",
                "available",
                admin,
                at + 15,
                recall=rid,
                note="Recall BENCH-R3 withdrawn: wrong lot entered",
            )
        self.report.counts["recall lot units"] = len(picked)
        self.report.counts["quarantined"] = sum(1 for s in self.state if s == "quarantined")

    returned_in: dict[tuple[int, int], int]

    def recall_row(self, rid, reference, klass, product, lots, serials, at, withdrawn=None):
        who, when = withdrawn or (None, None)
        self.recall_rows.append(
            "\t".join(
                [
                    str(rid),
                    str(self.org),
                    reference,
                    "Bench recall: sterile barrier may be compromised",
                    klass,
                    str(product),
                    esc(json.dumps(lots)),
                    esc(json.dumps(serials)),
                    self.day(0),
                    "withdrawn" if withdrawn else "active",
                    str(self.admins[0]),
                    ts(at),
                    NULL if when is None else ts(when),
                    null_or(who),
                    "Wrong lot entered" if withdrawn else "",
                ]
            )
        )

    def quarantine(self, rid: int, reference: str, units: list[int], at: int, *, lot=None):
        """What recall_record does: every unit found gets a RecallUnit with the state it was
        found in; available, hold and facility stock units are quarantined (custody and
        location kept); holders and representatives are told."""
        if not hasattr(self, "returned_in"):
            self.returned_in = {}
        told: set[int] = set()
        for i in units:
            if lot:
                self.lot[i] = lot
            self.recall_unit_rows.append((rid, i, self.state[i]))
            if self.custodian[i] is not None:
                told.add(self.custodian[i])
            if self.state[i] in ("available", "hold", "facility_stock"):
                self.entry(
                    i,
                    "quarantined",
                    "quarantined",
                    self.admins[0],
                    at,
                    recall=rid,
                    note=f"Recall {reference}",
                )
        for user in sorted(told):
            self.notify(
                user,
                "recall",
                self.admins[0],
                f"Recall {reference} touches units in your custody",
                reverse("inventory:recall_detail", args=[rid]),
                at,
                recall=rid,
            )

    # ---------------------------------------------------------------- par levels
    def plan_par_levels(self) -> None:
        """Par levels for dana's warehouse and bins, on products she stocks there."""
        ids_needed = []
        dana_locations = [self.home_location[self.dana], *self.bins_of.get(self.dana, [])]
        new_products = {p[0] for p in self.products} - set(self.demo_product_ids)
        stocked: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        for i, h in enumerate(self.custodian):
            if h == self.dana and self.state[i] == "available" and self.product[i] in new_products:
                stocked[self.location[i]][self.product[i]] += 1
        for loc in dana_locations:
            if loc is None:
                continue
            for pid, n in sorted(stocked[loc].items(), key=lambda x: (-x[1], x[0]))[:6]:
                par = max(1, n // 2) if len(ids_needed) % 3 else n + 2  # some below par
                ids_needed.append((loc, pid, par, par + max(2, par // 2)))
        ids = self.take_ids("ParLevel", len(ids_needed))
        self.par_rows = [
            f"{pk}\t{self.org}\t{loc}\t{pid}\t{par}\t{reorder}\t{NULL}\t{ts(self.now - DAY)}"
            for pk, (loc, pid, par, reorder) in zip(ids, ids_needed, strict=True)
        ]
        self.report.counts["par levels"] = len(self.par_rows)
