"""Background jobs of any kind an app registers: stored files and results, progress, download,
giving up, pruning, and the command that sweeps stale tasks (the retries are core.tasks')."""
