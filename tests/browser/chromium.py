"""Debian's Chromium and the flags that work on these machines, for every browser test (one list,
shared with the scanner benchmark)."""

from bench.camera import CHROMIUM, LAUNCH_ARGS

__all__ = ["CHROMIUM", "LAUNCH_ARGS"]
