"""The directory, events and their lifecycle, Mark Used, facility stock, comments and @mentions,
dashboards."""
