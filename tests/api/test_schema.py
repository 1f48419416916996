"""/api/v1/schema/ generates cleanly and says what the API really does: the bearer token, the
one error shape on every operation, keyset pages, and the Idempotency-Key header on writes."""

from __future__ import annotations

import subprocess
import sys

import jsonschema
import pytest
from django.conf import settings
from django.urls import path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from api.errors import error_body
from api.idempotency import idempotent
from api.views.base import ApiView
from inventory.filters import UnitFilter

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _schema(patterns=None) -> dict:
    GENERATOR_STATS.reset()
    schema = SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)
    assert not GENERATOR_STATS, "drf-spectacular warned while generating the schema"
    return schema


def _operations(schema):
    for route, item in schema["paths"].items():
        for method, operation in item.items():
            yield route, method, operation


def test_the_schema_generates_and_validates_with_no_warning(tmp_path):
    """As CI would run it, in a fresh process (drf-spectacular keeps its warnings and its
    enum names per process): a warning or an invalid OpenAPI document fails."""
    out = tmp_path / "schema.yaml"
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn"]
        + ["--file", str(out)],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stderr and "Error" not in result.stderr, result.stderr
    assert out.read_text().startswith("openapi: 3.1.0")


def test_every_operation_takes_the_bearer_token_or_the_session():
    schema = _schema()
    assert schema["components"]["securitySchemes"]["bearerAuth"]["type"] == "http"
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    operations = list(_operations(schema))
    assert operations
    for route, method, operation in operations:
        assert {"bearerAuth": []} in operation["security"], (method, route)
        assert {"cookieAuth": []} in operation["security"], (method, route)


def test_every_operation_declares_the_errors_it_can_answer_in_the_one_shape():
    schema = _schema()
    error_ref = {"$ref": "#/components/schemas/ApiError"}
    for route, method, operation in _operations(schema):
        responses = operation["responses"]
        wanted = {"401", "403", "429"}
        if any(p["in"] == "query" for p in operation.get("parameters", [])):
            wanted.add("400")
        if "{" in route:
            wanted.add("404")
        assert wanted <= set(responses), (method, route, sorted(responses))
        for code in wanted:
            assert responses[code]["content"]["application/json"]["schema"] == error_ref
        assert "Retry-After" in responses["429"]["headers"]


@pytest.mark.parametrize(
    "status,body",
    [
        (400, error_body("invalid", "Some fields are not valid.", {"limit": ["Too big."]})),
        (400, error_body("rule", "Unit S-1 is on hold.")),
        (404, error_body("not_found", "Not found.")),
    ],
)
def test_the_declared_error_shape_is_what_api_errors_answers(status, body):
    schema = _schema()
    components = schema["components"]["schemas"]
    validator = jsonschema.Draft202012Validator(
        {"$ref": "#/components/schemas/ApiError", "components": {"schemas": components}}
    )
    validator.validate(body)
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({"detail": "Not found."})  # DRF's own shape is not ours


def test_a_list_that_takes_a_cursor_is_declared_as_one_keyset_page():
    schema = _schema()
    ok = schema["paths"]["/api/v1/units/"]["get"]["responses"]["200"]
    ref = ok["content"]["application/json"]["schema"]["$ref"]
    page = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert page["required"] == ["results", "next"]
    assert page["properties"]["results"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/Unit"},
    }
    assert page["properties"]["next"]["type"] == ["string", "null"]
    # A unit's ledger is the whole ledger, no cursor: a plain array.
    ledger = schema["paths"]["/api/v1/units/{id}/ledger/"]["get"]["responses"]["200"]
    assert ledger["content"]["application/json"]["schema"]["type"] == "array"


def test_the_unit_list_declares_exactly_the_filters_of_the_inventory_page():
    """It once declared `product`, which no filter reads (a client got every unit), and
    left out rep, custodian, product_line and facility."""
    schema = _schema()
    declared = {p["name"] for p in schema["paths"]["/api/v1/units/"]["get"]["parameters"]}
    assert declared == set(UnitFilter.base_filters) | {"after", "limit"}


def test_an_operation_without_a_docstring_has_no_inherited_description():
    schema = _schema()
    detail = schema["paths"]["/api/v1/units/{id}/"]["get"]
    assert "REST_FRAMEWORK" not in detail.get("description", "")


class _ThingSerializer(serializers.Serializer):
    name = serializers.CharField()


class _IdempotentWrite(ApiView):
    @extend_schema(request=_ThingSerializer, responses={201: _ThingSerializer})
    @idempotent
    def post(self, request, pk):
        return Response({"name": "x"}, status=201)


class _PlainWrite(ApiView):
    @extend_schema(request=_ThingSerializer, responses={201: _ThingSerializer})
    def post(self, request):
        return Response({"name": "x"}, status=201)


class _PagedList(ApiView):
    @extend_schema(
        parameters=[OpenApiParameter("after", str), OpenApiParameter("limit", int)],
        responses=_ThingSerializer(many=True),
    )
    def get(self, request):
        return Response({"results": [], "next": None})


_PATTERNS = [
    path("api/v1/things/<int:pk>/act/", _IdempotentWrite.as_view()),
    path("api/v1/things/", _PlainWrite.as_view()),
    path("api/v1/things/page/", _PagedList.as_view()),
]


def test_writes_declare_their_refusals_and_idempotent_ones_the_key_header():
    paths = _schema(_PATTERNS)["paths"]
    act = paths["/api/v1/things/{id}/act/"]["post"]
    assert {"400", "401", "403", "404", "415", "422", "429"} <= set(act["responses"])
    (header,) = [p for p in act["parameters"] if p["in"] == "header"]
    assert header["name"] == "Idempotency-Key" and not header.get("required")
    plain = paths["/api/v1/things/"]["post"]
    assert {"400", "401", "403", "404", "415", "429"} <= set(plain["responses"])
    assert "422" not in plain["responses"]
    assert not [p for p in plain.get("parameters", []) if p["in"] == "header"]


def test_any_list_with_the_after_cursor_is_a_page():
    schema = _schema(_PATTERNS)
    ok = schema["paths"]["/api/v1/things/page/"]["get"]["responses"]["200"]
    ref = ok["content"]["application/json"]["schema"]["$ref"]
    assert set(schema["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]) == {
        "results",
        "next",
    }
