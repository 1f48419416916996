"""Background jobs of any kind an app registers: stored files and results, progress, download,
giving up, pruning, and the leases that put back a dead worker's task (jobs.leases, with the
`db_worker` that holds them; the retries are core.tasks')."""
