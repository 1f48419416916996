"""Shared helpers with no models that import no app: keyset pages, safe CSV, form widgets, web
glue, tasks."""
