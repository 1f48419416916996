"""Benchmarks: the full-scale load builder and the page timers. Nothing imports this app."""
