"""The pages' one rule for typed text (core.forms) holds for the API too: a single-line string in
a JSON body or a query string refuses CR, LF, tabs and every other control character, a
multi-line one (what a page takes in a <textarea>) keeps line breaks and tabs, a barcode takes
what the pages' barcode boxes take, and NUL is refused everywhere: a 400 in the API's one error
shape, naming the field, with nothing stored.

It is one rule, not a copy per serializer: a test finds every serializer the API reads a
request with (from the code, not a list) and checks that it is an `InputSerializer`, nested
ones included, and then sends each of their fields the characters it must refuse."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
from django.http import QueryDict
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework import serializers

import api
from api.serializers.base import CodeField, InputSerializer, TextField
from core.forms import MULTI_LINE_MESSAGE, NUL_MESSAGE, SINGLE_LINE_MESSAGE
from events.models import Event
from inventory.models import Recall, Unit
from tests.api.test_transfers_api import Api
from tests.events.factories import FacilityFactory, ProcedureFactory, open_event
from tests.inventory.factories import ProductFactory

CRLF = "\r\nBcc: victim@example.com"
GTIN = "09506000134352"


# --- every input serializer uses the rule ------------------------------------------------


def _api_modules():
    yield from (
        importlib.import_module(info.name)
        for info in pkgutil.walk_packages(api.__path__, prefix="api.")
        if ".migrations" not in info.name and ".management" not in info.name
    )


def _serializer_class(node, namespace):
    """The serializer class an expression names: `X`, `X(...)` or `module.X`, if it is one."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        found = namespace.get(node.id)
    elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        found = getattr(namespace.get(node.value.id), node.attr, None)
    else:
        return None
    if inspect.isclass(found) and issubclass(found, serializers.BaseSerializer):
        return found
    return None


def input_serializers() -> set[type]:
    """Every serializer class the API's code reads a request with: constructed with `data=`,
    or named as a request body or as query parameters in `extend_schema`."""
    found = set()
    for module in _api_modules():
        namespace = vars(module)
        for node in ast.walk(ast.parse(Path(module.__file__).read_text())):
            if not isinstance(node, ast.Call):
                continue
            for keyword in node.keywords:
                if keyword.arg in ("data", "request"):
                    expressions = [node.func] if keyword.arg == "data" else [keyword.value]
                elif keyword.arg == "parameters" and isinstance(keyword.value, ast.List):
                    expressions = keyword.value.elts
                else:
                    continue
                for expression in expressions:
                    cls = _serializer_class(expression, namespace)
                    if cls is not None:
                        found.add(cls)
    return found


def _nested(cls) -> set[type]:
    """`cls` and every serializer nested in its fields."""
    classes = {cls}
    for field in cls().fields.values():
        if isinstance(field, serializers.ListSerializer):
            field = field.child
        if isinstance(field, serializers.BaseSerializer):
            classes |= _nested(type(field))
    return classes


def every_input_serializer() -> list[type]:
    classes = set()
    for cls in input_serializers():
        classes |= _nested(cls)
    return sorted(classes, key=lambda cls: cls.__qualname__)


def test_every_serializer_the_api_reads_a_request_with_uses_the_one_rule():
    classes = every_input_serializer()
    names = {cls.__name__ for cls in classes}
    # The scan found them: bodies, nested lines and query parameters alike.
    assert {"EventWriteSerializer", "ReceiveLineSerializer", "LocationFilter"} <= names
    assert len(classes) >= 18
    assert [cls.__qualname__ for cls in classes if not issubclass(cls, InputSerializer)] == []


def _cases(serializer, text):
    """(field name, a body that holds `text` in that field or inside it, the field's kind)."""
    for name, field in serializer.fields.items():
        if field.read_only:
            continue
        if isinstance(field, serializers.ListSerializer):
            for _, inner, kind in _cases(field.child, text):
                yield name, {name: [inner]}, kind
        elif isinstance(field, serializers.BaseSerializer):
            for _, inner, kind in _cases(field, text):
                yield name, {name: inner}, kind
        elif isinstance(field, serializers.DictField):
            yield name, {name: {text: "x"}}, serializers.CharField()  # a key is a name
            yield name, {name: {"1": text}}, field.child
        elif isinstance(field, serializers.ListField):
            yield name, {name: [text]}, field.child
        else:
            yield name, {name: text}, field


def _messages(errors) -> set[str]:
    if isinstance(errors, dict):
        return {m for v in errors.values() for m in _messages(v)}
    if isinstance(errors, list):
        return {m for v in errors for m in _messages(v)}
    return {str(errors)}


def _refusal(text, kind) -> str | None:
    """What the rule answers for `text` in a field of this kind (None: nothing)."""
    if "\x00" in text:
        return NUL_MESSAGE
    if isinstance(kind, CodeField) and "".join(set(text) - set("\x1d\r\n\t")).isprintable():
        return None
    if isinstance(kind, TextField) and text.replace("\r\n", "").replace("\t", "").isprintable():
        return None
    return MULTI_LINE_MESSAGE if isinstance(kind, TextField) else SINGLE_LINE_MESSAGE


@pytest.mark.parametrize("text", ["R-1\x00'--", f"Knee{CRLF}", "a\tb", "a\x1bb", "01\x1d21S"])
def test_every_field_of_every_input_serializer_judges_its_characters_by_its_kind(text):
    tried = 0
    for cls in every_input_serializer():
        for name, body, kind in _cases(cls(), text):
            serializer = cls(data=body)
            serializer.is_valid()
            refusal = _refusal(text, kind)
            messages = _messages(serializer.errors.get(name, []))
            control = messages & {NUL_MESSAGE, SINGLE_LINE_MESSAGE, MULTI_LINE_MESSAGE}
            assert control == ({refusal} if refusal else set()), (cls.__name__, name, messages)
            tried += 1
    assert tried >= 40


def test_a_repeated_query_parameter_is_judged_in_every_copy():
    from api.views.recalls import RecallFilter

    # The field reads the last copy only; the first still never passes unjudged.
    filters = RecallFilter(data=QueryDict("status=a%00b&status=open"))
    assert not filters.is_valid()
    assert filters.errors == {"status": [NUL_MESSAGE]}


def test_multi_line_and_barcode_fields_are_those_the_pages_give_a_textarea_or_a_scan():
    kinds = {
        (cls.__name__, name): type(field).__name__
        for cls in every_input_serializer()
        for name, field in cls().fields.items()
        if isinstance(field, TextField | CodeField)
    }
    assert kinds == {
        ("EventWriteSerializer", "notes"): "TextField",  # events.forms.EventForm: a textarea
        ("RecallCreateSerializer", "reason"): "TextField",  # inventory.recall_forms.RecallForm
        ("LookupQuerySerializer", "q"): "CodeField",  # the recall lookup's scan box
        ("ReceiveUdiSerializer", "udi"): "CodeField",  # the receiving page's UDI box
    }


# --- through the API: refused, named, nothing stored ------------------------------------


@pytest.fixture
def event_body(org, rep):
    return {
        "type": "case",
        "name": "Knee",
        "representative": rep.pk,
        "facility": FacilityFactory(organization=org).pk,
        "procedure": ProcedureFactory(organization=org).pk,
        "scheduled_at": timezone.now().isoformat(),
    }


def test_an_event_opened_with_a_line_break_in_its_name_is_refused_and_nothing_is_stored(
    client, rep, event_body
):
    response = Api(client, rep).post("api:event_list", {**event_body, "name": f"Knee{CRLF}"})
    assert response.status_code == 400, response.content
    assert response.json()["error"]["fields"] == {"name": [SINGLE_LINE_MESSAGE]}
    assert not Event.objects.exists()


def test_an_event_renamed_with_a_line_break_is_refused_and_keeps_its_name(client, rep):
    event = open_event(rep, name="Knee")
    response = Api(client, rep).patch("api:event_detail", {"name": f"Hip{CRLF}"}, pk=event.pk)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["fields"] == {"name": [SINGLE_LINE_MESSAGE]}
    event.refresh_from_db()
    assert event.name == "Knee"


def test_an_events_notes_keep_their_line_breaks_but_not_a_nul(client, rep, event_body):
    api_client = Api(client, rep)
    response = api_client.post("api:event_list", {**event_body, "notes": "a\x00b"})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"notes": [NUL_MESSAGE]}
    assert not Event.objects.exists()
    response = api_client.post("api:event_list", {**event_body, "notes": "Bring the\r\n\tlong set"})
    assert response.status_code == 201, response.content
    assert Event.objects.get().notes == "Bring the\r\n\tlong set"


def test_a_nul_inside_a_nested_line_or_a_list_is_refused_and_nothing_is_received(
    client, admin_user, rep
):
    product = ProductFactory(organization=admin_user.organization)
    body = {
        "custodian": rep.pk,
        "lines": [{"product": product.pk, "serial_numbers": ["S-1", "S-2\x00"]}],
    }
    response = Api(client, admin_user).post("api:receive_lines", body)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["fields"] == {"lines": [NUL_MESSAGE]}
    assert not Unit.objects.exists()


def test_a_recall_reference_with_a_line_break_is_refused_but_its_reason_keeps_them(
    client, admin_user
):
    # No page form stands behind this one: the serializer is all that judges the text before
    # the service records it (the reference goes into ledger notes and emails).
    product = ProductFactory(organization=admin_user.organization)
    body = {
        "reference": f"R-7{CRLF}",
        "recall_class": "I",
        "product": product.pk,
        "lot_numbers": ["L1"],
        "recall_date": timezone.localdate().isoformat(),
        "reason": "Mislabelled:\r\n\tsee the notice",
    }
    api_client = Api(client, admin_user)
    response = api_client.post("api:recall_list", body)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["fields"] == {"reference": [SINGLE_LINE_MESSAGE]}
    assert not Recall.objects.exists()
    response = api_client.post("api:recall_list", {**body, "reference": "R-7"})
    assert response.status_code == 201, response.content
    assert Recall.objects.get().reason == "Mislabelled:\r\n\tsee the notice"


def test_a_scanned_udi_with_gs1_group_separators_is_still_received(client, admin_user, rep):
    ProductFactory(organization=admin_user.organization, gtin=GTIN)
    scan = f"01{GTIN}17300131\x1d10LOT7\x1d21SN-1\r\n"  # raw GS1, as a scanner types it
    response = Api(client, admin_user).post("api:receive_udi", {"udi": scan, "custodian": rep.pk})
    assert response.status_code == 201, response.content
    assert (response.json()["serial_number"], response.json()["lot_number"]) == ("SN-1", "LOT7")
    response = Api(client, admin_user).post(
        "api:receive_udi", {"udi": f"01{GTIN}\x1d21SN-2\x00", "custodian": rep.pk}
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"udi": [NUL_MESSAGE]}
    assert Unit.objects.count() == 1


# --- query strings -----------------------------------------------------------------------


def _list_parameters():
    """(path, query parameter) for every GET of the API without an id in its path."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, item in schema["paths"].items():
        operation = item.get("get")
        if operation is None or "{" in path or path.endswith("/schema/"):
            continue
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query":
                yield path, parameter["name"]


# What a list needs besides, so that the parameter tried is the only thing wrong.
NEEDS = {"/api/v1/recalls/lookup/": {"q": "LOT-1"}}
# A scan box takes a scanner's line ending, as the page's does (and refuses NUL).
SCANS = {("/api/v1/recalls/lookup/", "q")}


def test_a_control_character_in_any_query_parameter_of_a_list_is_a_400_naming_it(
    client, admin_user, distributor
):
    # Some filters are one role's (a distributor's `rep`); for another caller the list ignores
    # them, as its page does. So each is tried as both, and one of them must be told.
    callers = [Api(client, admin_user), Api(client, distributor)]
    tried = 0
    for path, name in _list_parameters():
        for text in ("R-1\x00'--", f"a{CRLF}"):
            if (path, name) in SCANS and "\x00" not in text:
                continue
            named = 0
            for caller in callers:
                query = {**NEEDS.get(path, {}), name: text}
                response = client.get(path, query, **caller.auth)
                assert response.status_code in (200, 400), (path, name, text, response.content)
                if response.status_code == 400:
                    assert name in response.json()["error"]["fields"], (path, name, text)
                    named += 1
            assert named, (path, name, text)
            tried += 1
    assert tried >= 40
