"""Background jobs: stored files and results, progress, retries, the sweeper and pruning, for any
app."""
