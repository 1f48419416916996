"""The installable, offline-capable side of the site (for Mark Used without signal): the service worker at `/sw.js`, the web app
manifest, and the data-free page shell the worker shows when there is no network.

The worker is served by Django, not from /static/: a worker controls only the paths under its
own URL, and Mark Used lives under /events/. Its precache list is read from the staticfiles
storage (hashed names after `collectstatic`), so a new deployment is a new worker and a new
cache, and nothing it caches ever carries a person's data: the shell is the same bytes for
everyone, with no CSRF token, no name and no patient reference.
"""

from __future__ import annotations

import functools
import hashlib
import json

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from core.web import scanner_csp

# What the offline Mark Used page needs, besides the shell itself. The scanner's decoder is
# cached too, so the camera reads labels with no signal.
SHELL_STATIC = [
    "bootstrap/css/bootstrap.min.css",
    "css/trunkpool.css",
    "js/offline/store.js",
    "js/offline/sync.js",
    "js/offline/boot.js",
    "js/offline/shell.js",
    "js/label_reader.js",
    "js/scanner.js",
    "icons/trunkpool-192.png",
    "icons/trunkpool-512.png",
]
SCANNER_STATIC = ["zxing/reader/index.js", "zxing/wasm/zxing_reader.wasm"]
# Run inside the worker (importScripts), in this order.
WORKER_SCRIPTS = ["js/offline/store.js", "js/offline/sync.js", "js/offline/worker.js"]


def _static_names() -> list[str]:
    return SHELL_STATIC + (SCANNER_STATIC if settings.SCANNER_INSTALLED else [])


def precache_urls() -> list[str]:
    return [reverse("events:offline_shell")] + [static(name) for name in _static_names()]


@functools.cache
def _content_digest() -> str:
    """What the worker delivers, by content: the shell as rendered and every file it caches
    or runs. Without hashed names (DEBUG, tests) a changed file still makes a new version; a
    process serves one release, so this is computed once."""
    digest = hashlib.sha256(render_to_string("offline/shell.html").encode())
    for name in _static_names() + WORKER_SCRIPTS:
        path = finders.find(name)
        if path is None and staticfiles_storage.exists(name):
            path = staticfiles_storage.path(name)
        if path:
            with open(path, "rb") as f:
                digest.update(hashlib.sha256(f.read()).digest())
    return digest.hexdigest()


@require_GET
@cache_control(no_cache=True)
def service_worker(request):
    """The worker script: its settings (precache list, version), then its code from /static/.
    Browsers check it for changes on every navigation; `no-cache` makes them ask us."""
    config = {
        "precache": precache_urls(),
        "shell": reverse("events:offline_shell"),
        "session": reverse("events:offline_session"),
        "sync": reverse("events:offline_sync"),
    }
    imports = [static(name) for name in WORKER_SCRIPTS]
    # A new list of files (a deployment, hashed names) is a new version: a new cache, the old
    # one dropped when the new worker takes over.
    config["version"] = hashlib.sha256(
        json.dumps([config, imports, _content_digest()]).encode()
    ).hexdigest()[:16]
    body = (
        "// Trunkpool's service worker (events/views/pwa.py). Its code is in static/js/offline/.\n"
        f"self.TRUNKPOOL = {json.dumps(config)};\n"
        f"importScripts({', '.join(json.dumps(url) for url in imports)});\n"
    )
    return HttpResponse(body, content_type="text/javascript; charset=utf-8")


@require_GET
@cache_control(max_age=3600)
def manifest(request):
    """The web app manifest: the app can be added to a phone's home screen and opens full
    screen at the dashboard (or, with no signal, at the offline page the worker shows)."""
    return JsonResponse(
        {
            "name": "Trunkpool",
            "short_name": "Trunkpool",
            "description": "Inventory custody for medical-device distributors.",
            "start_url": reverse("home"),
            "scope": "/",
            "display": "standalone",
            "background_color": "#ffffff",
            "theme_color": "#212529",
            # One entry per purpose: an icon for masking is cropped, one for "any" is not.
            "icons": [
                {
                    "src": static(f"icons/trunkpool-{size}.png"),
                    "sizes": f"{size}x{size}",
                    "type": "image/png",
                    "purpose": purpose,
                }
                for size in (192, 512)
                for purpose in ("any", "maskable")
            ],
        },
        content_type="application/manifest+json",
    )


@require_GET
@scanner_csp
@cache_control(no_cache=True)
def offline_shell(request):
    """The page the worker shows when a page cannot be fetched: on a Mark Used address it draws
    the prepared event from the phone's own storage; anywhere else it says the page needs a
    connection and lists what this phone has prepared. The same bytes for everyone."""
    # Rendered without the request: no context processor, no session, no CSRF token, so
    # nothing of whoever fetched it is in what the worker caches.
    return HttpResponse(render_to_string("offline/shell.html"))
