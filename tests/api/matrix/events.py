"""Events through the API, for every caller. The world's event is the (pooled) rep's open
Case; its representative, their distributor and admins see and work on it, nobody else (another
organization's admin, a rep of another group: 404). A submitted Case and a completed one of the
rep's show who may reopen and who may record payment: the office, not the rep."""

from django.utils import timezone

from events.models import Procedure
from events.services.events import event_complete, event_submit
from events.services.events import event_create as open_event
from tests.events.factories import mark_used
from tests.inventory.factories import receive_units

from .common import ApiExpect, no_kwargs


def _rep_case(w, name):
    return open_event(
        actor=w.rep,
        type="case",
        representative=w.rep,
        facility=w.objects["facility"],
        procedure=w.objects["procedure"],
        scheduled_at=timezone.now(),
        name=name,
    )


def _events_api_world(w):
    w.objects["procedure"] = Procedure.objects.get(
        organization=w.admin.organization, name="URL procedure"
    )
    (marked,) = receive_units(w.admin, w.rep, n=1, serial_prefix="API-MARKED-")
    mark_used(w.rep, w.objects["event"], [marked])
    submitted = event_submit(actor=w.rep, event=_rep_case(w, "API submitted case"))
    completed = event_submit(actor=w.rep, event=_rep_case(w, "API completed case"))
    completed = event_complete(actor=w.distributor, event=completed, po_number="PO-API-1")
    w.objects.update(marked_unit=marked, submitted_event=submitted, completed_event=completed)


WORLD_HOOKS = [_events_api_world]


def _event(w):
    return {"pk": w.objects["event"].pk}


def _submitted(w):
    return {"pk": w.objects["submitted_event"].pk}


def _completed(w):
    return {"pk": w.objects["completed_event"].pk}


def _new_case_for_rep(w):
    return {
        "type": "case",
        "representative": w.rep.pk,
        "facility": w.objects["facility"].pk,
        "procedure": w.objects["procedure"].pk,
        "scheduled_at": timezone.now().isoformat(),
    }


# The representative (the rep), their distributor and admins; nobody else.
SEEN = {
    "anon": 401,
    "rep": 200,
    "distributor": 200,
    "admin": 200,
    "other_admin": 404,
    "other_group_rep": 404,
}
WORKED_ON = SEEN

EXPECTATIONS = {
    ("api:event_list", "get"): ApiExpect(no_kwargs, 401, 200, 200, 200, 200, 200),
    # A case for the rep: the rep, their distributor and an admin open it; another
    # organization's admin and another group's rep may not name the rep (400, the form's words).
    ("api:event_list", "post"): ApiExpect(
        no_kwargs, 401, 201, 201, 201, 400, 400, data=_new_case_for_rep
    ),
    ("api:event_detail", "get"): ApiExpect(_event, **SEEN),
    ("api:event_detail", "patch"): ApiExpect(
        _event, **WORKED_ON, data=lambda w: {"notes": "Bring the long screws."}
    ),
    ("api:event_lines", "get"): ApiExpect(_event, **SEEN),
    ("api:event_mark_used", "post"): ApiExpect(
        _event, **WORKED_ON, data=lambda w: {"unit_ids": [w.objects["unit"].pk]}
    ),
    ("api:event_unmark", "post"): ApiExpect(
        _event, **WORKED_ON, data=lambda w: {"unit_ids": [w.objects["marked_unit"].pk]}
    ),
    ("api:event_submit", "post"): ApiExpect(_event, **WORKED_ON),
    ("api:event_cancel", "post"): ApiExpect(_event, **WORKED_ON),
    # The rep may not reopen a submitted Case nor record payment: 400, with the rule's words.
    ("api:event_reopen", "post"): ApiExpect(_submitted, 401, 400, 200, 200, 404, 404),
    ("api:event_po", "post"): ApiExpect(
        _submitted, **WORKED_ON, data=lambda w: {"po_number": "PO-77"}
    ),
    ("api:event_paid", "post"): ApiExpect(_completed, 401, 400, 200, 200, 404, 404),
}
