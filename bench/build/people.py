"""Plans the organization's people (users, distributor groups, memberships) and its directory
(facilities, physicians, procedures)."""

from __future__ import annotations

from collections import defaultdict

from accounts.models import DistributorGroup
from bench.build.common import (
    BENCH_EMAIL_DOMAIN,
    CITIES,
    DAY,
    DEMO_USERNAMES,
    FACILITY_KIND,
    FACILITY_PREFIX,
    FIRST,
    LAST,
    NULL,
    PROCEDURES,
    PRODUCT_LINES,
    SPECIALTIES,
    BenchError,
    esc,
    null_or,
    ts,
)


class PeoplePlan:
    """Plans the organization's people (users, distributor groups, memberships) and its directory (facilities, physicians, procedures)."""

    # ---------------------------------------------------------------- people
    def plan_people(self) -> None:
        s, rng, d = self.scale, self.rng, self.demo
        admins_extra = max(0, min(4, s.users // 500))
        new_dists = s.groups - 2
        new_reps = s.users - len(DEMO_USERNAMES) - admins_extra - new_dists
        if new_reps < 2:
            raise BenchError("--users is too small: at least 60.")
        roles = ["admin"] * admins_extra + ["distributor"] * new_dists + ["rep"] * new_reps
        self.user_rows = []
        self.display = {u.pk: u.name for u in d.values()}
        ids = self.take_ids("User", len(roles))
        for i, (uid, role) in enumerate(zip(ids, roles, strict=True)):
            first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
            n = i // (len(FIRST) * len(LAST))
            username = f"{first}.{last}{n or ''}{self.tag}".lower()
            display = f"{first} {last}" + (f" {n + 1}" if n else "")
            joined = ts(self.start - rng.randrange(365 * DAY))
            self.user_rows.append(
                "\t".join(
                    [
                        str(uid),
                        esc(self.password),
                        NULL,
                        "f",
                        username,
                        first,
                        last,
                        f"{username}@{BENCH_EMAIL_DOMAIN}",
                        "f",
                        "t",
                        joined,
                        str(self.org),
                        role,
                        esc(display),
                    ]
                )
            )
            self.role[uid] = role
            self.username[uid] = username
            self.display[uid] = display
        self.admins = [d["admin"].pk] + [u for u in ids if self.role[u] == "admin"]
        dists = [d["dana"].pk, d["drew"].pk] + [u for u in ids if self.role[u] == "distributor"]
        self.dana, self.drew = d["dana"].pk, d["drew"].pk
        self.riley, self.sam, self.casey = d["riley"].pk, d["sam"].pk, d["casey"].pk
        existing = {
            g.distributor_id: g.pk
            for g in DistributorGroup.objects.filter(distributor_id__in=[self.dana, self.drew])
        }
        group_ids = iter(self.take_ids("DistributorGroup", new_dists))
        self.group_of_dist: dict[int, int] = {}
        self.pooled: dict[int, bool] = {}  # by distributor
        self.new_groups = []
        for i, dist in enumerate(dists):
            gid = existing.get(dist) or next(group_ids)
            self.group_of_dist[dist] = gid
            # Dana's group pools (the demo's pooled reps); then every other group.
            self.pooled[dist] = dist == self.dana or (dist != self.drew and i % 2 == 0)
            if dist not in existing:
                self.new_groups.append((gid, dist))
        self.reps_of: dict[int, list[int]] = {dist: [] for dist in dists}
        self.reps_of[self.dana] += [self.riley, self.sam]
        self.reps_of[self.drew] += [self.casey]
        weights = [6 if dist == self.dana else 1 for dist in dists]
        new_rep_ids = [u for u in ids if self.role[u] == "rep"]
        self.memberships = []
        self.unassigned = []
        for rep in new_rep_ids:
            if rng.random() < 0.02:
                self.unassigned.append(rep)
                continue
            dist = rng.choices(dists, weights)[0]
            self.reps_of[dist].append(rep)
            self.memberships.append((self.group_of_dist[dist], rep))
        self.dist_of = {rep: dist for dist, reps in self.reps_of.items() for rep in reps}
        self.dists = dists
        self.reps = [self.riley, self.sam, self.casey] + new_rep_ids
        self.report.counts["users"] = len(self.role)
        self.report.counts["groups"] = len(dists)
        self.report.counts["groups pooling"] = sum(self.pooled.values())

    # ---------------------------------------------------------------- directory
    def plan_directory(self) -> None:
        s, rng = self.scale, self.rng
        new_facilities = max(0, s.facilities - len(self.facility_ids))
        self.facility_rows = []
        ids = self.take_ids("Facility", new_facilities)
        for i, fid in enumerate(ids):
            kind_name, kind = FACILITY_KIND[i % len(FACILITY_KIND)]
            prefix = FACILITY_PREFIX[(i // len(FACILITY_KIND)) % len(FACILITY_PREFIX)]
            city = CITIES[i % len(CITIES)]
            name = f"{prefix} {kind_name}, {city}"
            if i >= len(FACILITY_KIND) * len(FACILITY_PREFIX):
                name += f" {i}"
            self.facility_rows.append(f"{fid}\t{self.org}\t{esc(name)}\t{kind}\t{city}")
            self.facility_name[fid] = name
        self.facility_ids += list(ids)
        if self.st_marys is None:
            self.st_marys = self.facility_ids[0]
        # Each group serves a handful of facilities most of the time; dana's includes St. Mary's.
        self.home_facilities = {}
        for dist in self.dists:
            homes = rng.sample(self.facility_ids, min(8, len(self.facility_ids)))
            if dist == self.dana and self.st_marys not in homes:
                homes[0] = self.st_marys
            self.home_facilities[dist] = homes
        new_physicians = max(0, s.physicians - len(self.physician_ids))
        ids = self.take_ids("Physician", new_physicians)
        self.physician_rows = [
            f"{pid}\t{self.org}\tDr. {FIRST[(i * 7) % len(FIRST)]} {LAST[i % len(LAST)]}"
            f"{' ' + str(i) if i >= len(LAST) else ''}\t{SPECIALTIES[i % len(SPECIALTIES)]}"
            for i, pid in enumerate(ids)
        ]
        self.physician_ids += list(ids)
        missing = [p for p in PROCEDURES if p not in self.procedures]
        ids = self.take_ids("Procedure", len(missing))
        self.procedure_rows = [
            f"{pid}\t{self.org}\t{esc(n)}" for pid, n in zip(ids, missing, strict=True)
        ]
        self.procedures.update(zip(missing, ids, strict=True))
        self.procedure_ids = list(self.procedures.values())
        # Locations, each with its holder: a warehouse and two hospital bins per distributor, a
        # trunk per rep, the organization's own warehouse. A unit sits at a location of its
        # custodian or nowhere (on its way, on a facility's shelf).
        self.location_rows = []
        self.home_location: dict[int | None, int | None] = {
            None: self.locations.get("Main Warehouse")
        }
        for username, name in (
            ("dana", "Dana's Warehouse"),
            ("riley", "Riley's Trunk"),
            ("sam", "Sam's Trunk"),
            ("drew", "Drew's Warehouse"),
            ("casey", "Casey's Trunk"),
        ):
            self.home_location[self.demo[username].pk] = self.locations.get(name)
        for holder, lid in self.home_location.items():
            if lid is not None and self.location_holder.get(lid) != holder:
                raise BenchError(f"The demo location {lid} is not held by user {holder}.")
        self.bins_of: dict[int, list[int]] = defaultdict(list)
        for lid, holder in self.location_holder.items():
            if holder in self.home_location and lid != self.home_location[holder] and holder:
                self.bins_of[holder].append(lid)  # St. Mary's Hospital bin, held by dana
        wanted = []
        for dist in self.dists:
            if dist not in self.home_location:
                wanted.append((dist, f"{self.display[dist]}'s Warehouse", "warehouse", True))
            for n in (1, 2):
                wanted.append((dist, f"{self.display[dist]}'s Bin {n}", "bin", False))
        for rep in self.reps:
            if rep not in self.home_location:
                wanted.append((rep, f"{self.display[rep]}'s Trunk", "trunk", True))
        ids = self.take_ids("Location", len(wanted))
        for lid, (holder, name, kind, home) in zip(ids, wanted, strict=True):
            self.location_rows.append(f"{lid}\t{self.org}\t{esc(name)}\t{kind}\t{holder}")
            self.location_holder[lid] = holder
            if home:
                self.home_location[holder] = lid
            else:
                self.bins_of[holder].append(lid)
        # Products.
        new_products = max(0, s.products - len(self.products))
        ids = self.take_ids("Product", new_products)
        self.product_rows = []
        for i, pid in enumerate(ids):
            line, code, maker, serial, single, _ = PRODUCT_LINES[i % len(PRODUCT_LINES)]
            gtin = f"0861{pid:010d}" if i % 2 == 0 else None
            self.product_rows.append(
                "\t".join(
                    [
                        str(pid),
                        str(self.org),
                        f"{code}-{pid:05d}",
                        esc(f"{line} item {pid}"),
                        maker,
                        line,
                        null_or(gtin),
                        "t" if single else "f",
                        "serial" if serial else "lot",
                    ]
                )
            )
            self.products.append((pid, single, "serial" if serial else "lot", line, gtin))
        line_info = {p[0]: p[1:] for p in PRODUCT_LINES}
        self.product_code = {}
        self.product_expires = {}
        self.product_single = {}
        for pid, single, _tracking, line, _gtin in self.products:
            info = line_info.get(line, ("X", "", True, single, True))
            self.product_code[pid] = info[0][:2]
            self.product_expires[pid] = info[4]
            self.product_single[pid] = single
        self.product_meta = {p[0]: p for p in self.products}
