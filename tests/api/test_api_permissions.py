"""Every API URL and method, against a declared status for each kind of caller.

The world is tests/test_url_permissions.py's (organization A: admin, distributor with a pooled
rep, a second group with casey; an admin of organization B), every caller signed in with a
token. Each subject declares its expectations in tests/api/matrix/<subject>.py; an API URL or
method that no module declares fails `test_every_api_url_and_method_is_declared`.
"""

from __future__ import annotations

import datetime
import importlib
import pkgutil

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

import tests.api.matrix as matrix_package
from api.authentication import new_token_parts, token_digest
from api.models import ApiToken, TokenScope
from tests.api.matrix.common import CALLERS
from tests.test_url_permissions import WORLD_HOOKS, world  # noqa: F401 - the shared fixture

EXPECTATIONS: dict = {}
API_WORLD_HOOKS: list = []
for _info in pkgutil.iter_modules(matrix_package.__path__):
    if _info.name == "common":
        continue
    _module = importlib.import_module(f"tests.api.matrix.{_info.name}")
    EXPECTATIONS.update(_module.EXPECTATIONS)
    API_WORLD_HOOKS.extend(getattr(_module, "WORLD_HOOKS", []))

WRITE_METHODS = ("post", "put", "patch", "delete")


def _api_views():
    """(URL name, view class) of every pattern under the api namespace."""

    def walk(patterns, namespace=""):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                yield from walk(entry.url_patterns, ns)
            elif isinstance(entry, URLPattern) and namespace.startswith("api:"):
                yield f"{namespace}{entry.name}", entry.callback.cls

    return list(walk(get_resolver().url_patterns))


def _methods(view_class) -> set[str]:
    return {m for m in ("get", *WRITE_METHODS) if hasattr(view_class, m)}


def test_every_api_url_and_method_is_declared():
    declared = set(EXPECTATIONS)
    served = {(name, m) for name, cls in _api_views() for m in _methods(cls)}
    assert sorted(served - declared) == [], "declare these in tests/api/matrix/"
    assert sorted(declared - served) == [], "stale API expectations"


def token_for(user, scope=TokenScope.WRITE) -> str:
    prefix, secret, raw = new_token_parts()
    ApiToken.objects.create(
        user=user,
        name="matrix",
        prefix=prefix,
        digest=token_digest(secret),
        scope=scope,
        created_by=user,
        expires_at=timezone.now() + datetime.timedelta(days=1),
    )
    return raw


@pytest.fixture
def api_world(world):  # noqa: F811 - the fixture imported above
    casey = world.objects["casey_to_drew"].sender
    world.objects["other_group_rep"] = casey
    for hook in API_WORLD_HOOKS:
        hook(world)
    return world


def _caller(w, caller):
    if caller == "anon":
        return None
    if caller == "other_group_rep":
        return w.objects["other_group_rep"], TokenScope.WRITE
    user = getattr(w, caller.removesuffix("_read_only"))
    return user, TokenScope.READ if caller.endswith("_read_only") else TokenScope.WRITE


def _call(client, w, name, method, caller, expect):
    headers = {}
    who = _caller(w, caller)
    if who is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token_for(*who)}"
    url = reverse(name, kwargs=expect.kwargs(w))
    if method == "get":
        return url, client.get(url, expect.query(w), **headers)
    body = expect.data(w)
    return url, getattr(client, method)(url, body, content_type="application/json", **headers)


@pytest.mark.parametrize("name,method", sorted(EXPECTATIONS))
def test_api_answers_each_caller_as_declared(client, api_world, name, method):
    """Each caller in turn, each inside a savepoint rolled back after it: a write one caller
    may make (accepting a transfer) never changes what the next caller finds, and the world
    is built once per URL instead of once per caller."""
    expect = EXPECTATIONS[(name, method)]
    wrong = []
    for caller in CALLERS:
        with transaction.atomic():
            url, response = _call(client, api_world, name, method, caller, expect)
            transaction.set_rollback(True)
        wanted = expect.status_for(caller, method)
        if response.status_code != wanted:
            wrong.append(
                f"{method.upper()} {url} as {caller}: {response.status_code} "
                f"(wanted {wanted}) {response.content[:200]!r}"
            )
        elif response.status_code >= 400 and set(response.json()) != {"error"}:
            wrong.append(f"{method.upper()} {url} as {caller}: not the one error shape")
    assert not wrong, "\n".join(wrong)
