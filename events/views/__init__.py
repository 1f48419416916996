"""Event pages, one module per subject: events, mark used, comments, directory, dashboard."""
