"""One rule for typed text in every form and filter (core.forms.SafeInputMixin): single-line
fields refuse CR, LF, tabs and every other control character; multi-line fields keep line breaks
and tabs and refuse the rest. It is one rule, not a copy per form: a test finds every form and
filter class of the project and checks that it uses the mixin."""

import importlib
import pkgutil

import django_filters
import pytest
from django import forms
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from core.forms import (
    MULTI_LINE_MESSAGE,
    NUL_MESSAGE,
    SINGLE_LINE_MESSAGE,
    SafeInputMixin,
    control_character_problem,
)
from events.models import Event
from tests.events.factories import FacilityFactory, ProcedureFactory
from tests.taskqueue import run_worker

APPS = ("accounts", "core", "jobs", "inventory", "events", "api", "config")


def _project_modules():
    for app in APPS:
        package = importlib.import_module(app)
        yield package
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{app}."):
            if ".migrations" in info.name or ".management" in info.name:
                continue
            yield importlib.import_module(info.name)


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _ours(cls):
    return cls.__module__.split(".")[0] in APPS


def test_every_form_and_filter_of_the_project_uses_the_one_rule():
    list(_project_modules())  # import them all, so every class is defined
    project_forms = {cls for cls in _subclasses(forms.BaseForm) if _ours(cls)}
    filtersets = {cls for cls in _subclasses(django_filters.FilterSet) if _ours(cls)}
    assert len(project_forms) > 30 and len(filtersets) >= 2  # the scan found them
    assert (
        sorted(cls.__qualname__ for cls in project_forms if not issubclass(cls, SafeInputMixin))
        == []
    )
    assert (
        sorted(
            cls.__qualname__ for cls in filtersets if not issubclass(cls._meta.form, SafeInputMixin)
        )
        == []
    )


@pytest.mark.parametrize(
    ("text", "multiline", "problem"),
    [
        ("Knee case", False, None),
        ("Zoë O’Brien – ÄÖÜ 東京 👩‍⚕️", False, None),  # letters, punctuation, emoji joiners
        ("Knee\r\nBcc: x@example.com", False, SINGLE_LINE_MESSAGE),
        ("Knee\ncase", False, SINGLE_LINE_MESSAGE),
        ("Knee\tcase", False, SINGLE_LINE_MESSAGE),
        ("a\x1bb", False, SINGLE_LINE_MESSAGE),
        ("a\x7fb", False, SINGLE_LINE_MESSAGE),
        ("a\x85b", False, SINGLE_LINE_MESSAGE),
        ("a\u2028b", False, SINGLE_LINE_MESSAGE),
        ("line one\r\nline two\tindented", True, None),
        ("a\x00b", True, NUL_MESSAGE),
        ("R-1\x00", False, NUL_MESSAGE),
        ("a\x0bb", True, MULTI_LINE_MESSAGE),
        ("a\x1bb", True, MULTI_LINE_MESSAGE),
    ],
)
def test_control_character_rule(text, multiline, problem):
    assert control_character_problem(text, multiline=multiline) == problem


def test_a_barcode_box_takes_the_scanners_separators_but_never_nul():
    from inventory.forms import ScanCodeForm

    assert ScanCodeForm({"code": "0109506000134352\x1d10L1\r\n"}).is_valid()
    assert ScanCodeForm({"code": "A\nB"}).errors == {"code": ["One code at a time."]}
    assert ScanCodeForm({"code": "A\x00"}).errors == {"code": [NUL_MESSAGE]}
    assert ScanCodeForm({"code": "A\x1bB"}).errors == {"code": [SINGLE_LINE_MESSAGE]}


CRLF = "\r\nBcc: victim@example.com"


def test_an_event_name_with_a_line_break_is_refused_and_never_reaches_an_email(
    client, org, rep, distributor, mailoutbox
):
    facility = FacilityFactory(organization=org)
    procedure = ProcedureFactory(organization=org)
    client.force_login(rep)
    response = client.post(
        reverse("events:event_create"),
        {
            "type": "case",
            "name": f"Knee{CRLF}",
            "representative": rep.pk,
            "facility": facility.pk,
            "procedure": procedure.pk,
            "scheduled_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "notes": "Bring the\r\nlong set",  # multi-line: line breaks are fine
        },
    )
    assert response.status_code == 200
    assert SINGLE_LINE_MESSAGE in response.content.decode()
    assert response.context["form"].errors == {"name": [SINGLE_LINE_MESSAGE]}
    assert not Event.objects.exists()
    run_worker()
    assert mailoutbox == []


def test_a_display_name_with_a_line_break_is_refused(client, admin_user, rep):
    client.force_login(admin_user)
    response = client.post(
        reverse("accounts:user_edit", args=[rep.pk]),
        {"display_name": f"Riley{CRLF}", "email": rep.email, "role": rep.role},
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {"display_name": [SINGLE_LINE_MESSAGE]}
    assert "Bcc" not in User.objects.get(pk=rep.pk).display_name


def test_a_comment_keeps_its_line_breaks_but_not_a_nul(client, rep):
    from tests.events.factories import open_event

    event = open_event(rep)
    client.force_login(rep)
    url = reverse("events:comment_add", args=[event.pk])
    assert client.post(url, {"body": "first\r\n\tsecond"}).status_code == 302
    refused = client.post(url, {"body": "a\x00b"}, follow=True)
    assert NUL_MESSAGE in refused.content.decode()
    refused = client.post(url, {"body": "a\x1bb"}, follow=True)
    assert MULTI_LINE_MESSAGE in refused.content.decode()
    assert [c.body for c in event.comments.all()] == ["first\r\n\tsecond"]
