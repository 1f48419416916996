"""The installable, offline-capable side (events/views/pwa.py): the service worker's precache list, the
data-free shell it keeps, and the web app manifest."""

import json
import struct

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

from events.views import pwa
from tests.factories import RepFactory

pytestmark = pytest.mark.django_db


def _worker_config(client):
    response = client.get(reverse("events:service_worker"))
    assert response.status_code == 200
    body = response.content.decode()
    line = next(ln for ln in body.splitlines() if ln.startswith("self.TRUNKPOOL = "))
    return response, json.loads(line.removeprefix("self.TRUNKPOOL = ").rstrip(";")), body


def test_the_worker_is_served_from_the_root_and_precaches_the_shell_and_its_files(client):
    response, config, body = _worker_config(client)
    assert response["Content-Type"].startswith("text/javascript")
    assert "no-cache" in response["Cache-Control"]
    assert config["shell"] == reverse("events:offline_shell")
    assert config["precache"][0] == reverse("events:offline_shell")
    for name in pwa.SHELL_STATIC:
        assert f"/static/{name}" in config["precache"]
        assert finders.find(name), f"{name} is precached but is no static file"
    # Nothing a server renders for someone is ever precached: the shell and static files only.
    assert all(u.startswith("/static/") for u in config["precache"][1:])
    for name in pwa.WORKER_SCRIPTS:
        assert f'"/static/{name}"' in body


def test_the_precache_list_comes_from_the_static_storage_so_a_deployment_is_a_new_version(
    client, monkeypatch
):
    _, before, _ = _worker_config(client)
    # What ManifestStaticFilesStorage does after collectstatic: hashed names.
    monkeypatch.setattr(pwa, "static", lambda name: f"/static/{name}.3f2a9c")
    _, after, body = _worker_config(client)
    assert "/static/js/offline/shell.js.3f2a9c" in after["precache"]
    assert '"/static/js/offline/worker.js.3f2a9c"' in body
    assert after["version"] != before["version"]


def test_the_shell_is_the_same_for_everyone_and_holds_nobodys_data():
    rep = RepFactory(display_name="Quinn Uniquename")
    anonymous = Client().get(reverse("events:offline_shell"))
    client = Client()
    client.force_login(rep)
    signed_in = client.get(reverse("events:offline_shell"))
    assert signed_in.status_code == 200
    assert signed_in.content == anonymous.content
    text = signed_in.content.decode()
    assert "csrfmiddlewaretoken" not in text and "Quinn" not in text and rep.username not in text
    assert "Cookie" not in signed_in.get("Vary", "") and not signed_in.cookies
    assert "data-offline-shell" in text and "js/offline/shell.js" in text


def _png_size(path):
    with open(path, "rb") as png:
        head = png.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_the_manifest_makes_the_app_installable_with_its_icons(client):
    response = client.get(reverse("events:manifest"))
    assert response["Content-Type"] == "application/manifest+json"
    manifest = response.json()
    assert manifest["start_url"] == "/" and manifest["display"] == "standalone"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        path = finders.find(icon["src"].removeprefix("/static/"))
        width, height = _png_size(path)
        assert f"{width}x{height}" == icon["sizes"]


def test_every_page_links_the_manifest_and_names_only_the_users_id(client):
    rep = RepFactory(display_name="Quinn Uniquename")
    client.force_login(rep)
    page = client.get("/inventory/").content.decode()
    assert f'<link rel="manifest" href="{reverse("events:manifest")}">' in page
    assert f'<meta name="trunkpool-user" content="{rep.pk}">' in page
    assert "js/offline/boot.js" in page
    signed_out = Client().get(reverse("login")).content.decode()
    assert '<meta name="trunkpool-user" content="">' in signed_out


def test_a_changed_shell_or_file_is_a_new_version_even_without_hashed_names(client, monkeypatch):
    pwa._content_digest.cache_clear()
    _, before, _ = _worker_config(client)
    monkeypatch.setattr(pwa, "render_to_string", lambda name: "<p>a new shell</p>")
    pwa._content_digest.cache_clear()
    try:
        _, after, _ = _worker_config(client)
    finally:
        pwa._content_digest.cache_clear()
    assert after["precache"] == before["precache"]
    assert after["version"] != before["version"]


def test_every_file_the_offline_page_loads_is_precached(client):
    """A script added to the shell but not to the precache list would be missing offline."""
    import re

    shell = client.get(reverse("events:offline_shell")).content.decode()
    loaded = set(re.findall(r'(?:src|href|data-wasm-url)="(/static/[^"]+)"', shell))
    _, config, _ = _worker_config(client)
    assert loaded and loaded <= set(config["precache"]), loaded - set(config["precache"])
