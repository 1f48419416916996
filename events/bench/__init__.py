"""The full-scale benchmark behind `manage.py bench_scale` (PostgreSQL only).

`build` loads a whole organization next to the demo data in bulk SQL and proves, by replaying
the ledger in SQL, that every unit's state and custodian are what its ledger says. `pages`
picks concrete rows from that data and lists the pages to time; `timing` times them in-process
(queries, SQL time) or over HTTP against a running server on this machine.

It lives in `events`, the top app, because it writes events as well as units and transfers.
"""
