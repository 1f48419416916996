"""The one CSV writer for every file the application writes (exports, reports).

A spreadsheet runs a cell that begins with =, +, -, @, a tab or a carriage return as a formula
(`=HYPERLINK(...)`, `=cmd|...`). As OWASP's "CSV Injection" advice says, such a cell is written
with a single quote in front, so it shows as the text it is, and every cell is quoted.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    """The cell as text, neutralized when a spreadsheet would run it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


class SafeWriter:
    """csv.writer's writerow/writerows with every cell passed through safe_cell."""

    def __init__(self, out):
        self._writer = csv.writer(out, quoting=csv.QUOTE_ALL)

    def writerow(self, row: Iterable):
        return self._writer.writerow([safe_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable]) -> None:
        for row in rows:
            self.writerow(row)


def writer(out) -> SafeWriter:
    return SafeWriter(out)


class _Echo:
    """A file that hands back what is written: each row becomes a string to stream."""

    def write(self, value):
        return value


def streaming_writer() -> SafeWriter:
    """A writer whose writerow returns the row's text, for a StreamingHttpResponse."""
    return SafeWriter(_Echo())
