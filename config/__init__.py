"""Wiring only: settings, URLs, WSGI/ASGI, and the two pages with no app behind them."""
