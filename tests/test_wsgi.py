"""The WSGI module gunicorn loads (config/wsgi.py): every view imported and what lives as long
as the worker frozen out of the garbage collector's reach, so an oldest-generation collection
does not walk Django's 100,000-odd objects in the middle of a request."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from django.conf import settings

PROBE = """
import gc, json, sys
import config.wsgi
print(json.dumps({
    "frozen": gc.get_freeze_count(),
    "tracked": len(gc.get_objects()),
    "views": sorted(m for m in sys.modules if m.endswith(".views") or ".views." in m),
}))
"""


def test_loading_the_wsgi_application_imports_every_view_and_freezes_what_is_loaded():
    env = {**os.environ, "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "config.settings"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    # Django and the apps: well over 50,000 objects frozen, few left for the collector.
    assert probe["frozen"] > 50_000, probe["frozen"]
    assert probe["tracked"] < probe["frozen"] / 10, probe
    for module in ("inventory.views.transfers", "events.views.mark_used", "api.views.transfers"):
        assert module in probe["views"], module
