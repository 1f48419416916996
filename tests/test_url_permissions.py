"""Every URL of the project against a declared expectation for each kind of visitor.

A URL added without an entry in EXPECTATIONS fails `test_every_url_has_a_declared_expectation`,
so nobody can add a page and forget who may open it. Expectations are status codes; 302 for an
anonymous visitor must point at the login page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from events.services.comments import comment_add
from events.services.events import event_create
from tests.factories import DistributorFactory, OrganizationFactory, RepFactory, UserFactory

VISITORS = ("anon", "rep", "distributor", "admin", "other_admin")


@dataclass
class World:
    """Organization A (admin, distributor with an assigned rep) and an admin of organization B.

    Later apps add their objects (units, transfers, events) in `extend_world` hooks below.
    """

    admin: object
    distributor: object
    rep: object
    other_admin: object
    objects: dict = field(default_factory=dict)

    def visitor(self, name):
        return None if name == "anon" else getattr(self, name)


@pytest.fixture
def world(db):
    org = OrganizationFactory()
    distributor = DistributorFactory(organization=org)
    rep = RepFactory(organization=org, assigned_to=distributor)
    w = World(
        admin=UserFactory(organization=org, admin=True),
        distributor=distributor,
        rep=rep,
        other_admin=UserFactory(organization=OrganizationFactory(), admin=True),
    )
    for hook in WORLD_HOOKS:
        hook(w)
    return w


WORLD_HOOKS: list[Callable[[World], None]] = []


@dataclass(frozen=True)
class Expect:
    method: str
    kwargs: Callable[[World], dict]
    anon: int
    rep: int
    distributor: int
    admin: int
    other_admin: int
    data: Callable[[World], dict] = staticmethod(lambda w: {})  # type: ignore[assignment]

    def status_for(self, visitor):
        return getattr(self, visitor)


def _distributor_pk(w):
    return {"pk": w.distributor.pk}


ADMIN_ONLY = {"anon": 302, "rep": 403, "distributor": 403, "admin": 200, "other_admin": 404}
ADMIN_ONLY_POST = {"anon": 302, "rep": 403, "distributor": 403, "admin": 302, "other_admin": 404}

EXPECTATIONS: dict[str, Expect] = {
    "home": Expect("get", lambda w: {}, 302, 200, 200, 200, 200),
    "healthz": Expect("get", lambda w: {}, 200, 200, 200, 200, 200),
    # The installable app's files: the same for everyone, signed in or not.
    "events:service_worker": Expect("get", lambda w: {}, 200, 200, 200, 200, 200),
    "events:manifest": Expect("get", lambda w: {}, 200, 200, 200, 200, 200),
    "events:offline_shell": Expect("get", lambda w: {}, 200, 200, 200, 200, 200),
    "scan": Expect("get", lambda w: {}, 302, 200, 200, 200, 200),
    # Old /inventory/jobs/ links redirect to /jobs/, which then asks who is looking.
    "jobs_moved_list": Expect("get", lambda w: {}, 301, 301, 301, 301, 301),
    "jobs_moved_detail": Expect("get", lambda w: {"pk": 1}, 301, 301, 301, 301, 301),
    "jobs_moved_progress": Expect("get", lambda w: {"pk": 1}, 301, 301, 301, 301, 301),
    "jobs_moved_download": Expect("get", lambda w: {"pk": 1}, 301, 301, 301, 301, 301),
    "login": Expect("get", lambda w: {}, 200, 200, 200, 200, 200),
    # Logging out is a POST that anyone may make; it always redirects to the login page.
    "logout": Expect("post", lambda w: {}, 302, 302, 302, 302, 302),
    "accounts:user_list": Expect("get", lambda w: {}, 302, 403, 403, 200, 200),
    "accounts:user_create": Expect("get", lambda w: {}, 302, 403, 403, 200, 200),
    "accounts:user_detail": Expect("get", _distributor_pk, **ADMIN_ONLY),
    "accounts:user_edit": Expect("get", _distributor_pk, **ADMIN_ONLY),
    "accounts:user_set_active": Expect(
        "post", lambda w: {"pk": w.rep.pk}, **ADMIN_ONLY_POST, data=lambda w: {"active": "1"}
    ),
    # An empty pick puts the profile back with the message next to the rep box.
    "accounts:group_assign": Expect("post", _distributor_pk, **ADMIN_ONLY),
    "accounts:group_unassign": Expect(
        "post", lambda w: {"pk": w.distributor.pk, "rep_pk": w.rep.pk}, **ADMIN_ONLY_POST
    ),
    "accounts:group_pooling": Expect("post", _distributor_pk, **ADMIN_ONLY_POST),
    # The holder type-ahead answers every member of an organization, within their own scope.
    "accounts:holder_search": Expect(
        "get", lambda w: {}, 302, 200, 200, 200, 200, data=lambda w: {"purpose": "recipient"}
    ),
    "accounts:user_invite": Expect("post", lambda w: {"pk": w.rep.pk}, **ADMIN_ONLY_POST),
    "accounts:user_unlock": Expect("post", lambda w: {"pk": w.rep.pk}, **ADMIN_ONLY_POST),
    # Everyone signed in changes their own password; anyone may ask for a reset link.
    "password_change": Expect("get", lambda w: {}, 302, 200, 200, 200, 200),
    "password_change_done": Expect("get", lambda w: {}, 302, 200, 200, 200, 200),
    "password_reset": Expect("get", lambda w: {}, 200, 200, 200, 200, 200),
    "password_reset_done": Expect("get", lambda w: {}, 200, 200, 200, 200, 200),
    "password_reset_complete": Expect("get", lambda w: {}, 200, 200, 200, 200, 200),
    # A made-up token shows "this link no longer works", to anyone.
    "password_reset_confirm": Expect(
        "get", lambda w: {"uidb64": "MQ", "token": "set-password"}, 200, 200, 200, 200, 200
    ),
}


def _inventory_world(w: World) -> None:
    from inventory.services.transfers import transfer_create
    from tests.inventory.factories import ProductFactory, receive_units

    product = ProductFactory(organization=w.admin.organization)
    (unit,) = receive_units(w.admin, w.rep, n=1, product=product, serial_prefix="URL-")
    (other,) = receive_units(w.admin, w.rep, n=1, product=product, serial_prefix="URL2-")
    (transfer,) = transfer_create(actor=w.rep, unit_ids=[other.pk], recipient=w.distributor)
    w.objects.update(unit=unit, transfer=transfer)

    # Another distributor group of the same organization, and its transfers: one sent to this
    # group's distributor (its units were never the pooled rep's) and one inside that group.
    group = w.distributor.distributor_group
    group.pooling_enabled = True
    group.save(update_fields=["pooling_enabled"])
    drew = DistributorFactory(organization=w.admin.organization)
    casey = RepFactory(organization=w.admin.organization, assigned_to=drew)
    (to_pool,) = receive_units(w.admin, casey, n=1, product=product, serial_prefix="CASEY-")
    (inside,) = receive_units(w.admin, casey, n=1, product=product, serial_prefix="CASEY2-")
    (casey_to_distributor,) = transfer_create(
        actor=casey, unit_ids=[to_pool.pk], recipient=w.distributor
    )
    (casey_to_drew,) = transfer_create(actor=casey, unit_ids=[inside.pk], recipient=drew)
    w.objects.update(casey_to_distributor=casey_to_distributor, casey_to_drew=casey_to_drew)


WORLD_HOOKS.append(_inventory_world)


def _job_world(w: World) -> None:
    from inventory.services.exports import EXPORT_JOB
    from jobs.models import Job, JobChunk

    job = Job.objects.create(
        organization=w.rep.organization,
        owner=w.rep,
        kind=EXPORT_JOB,
        status=Job.Status.DONE,
        finished_at=timezone.now(),
    )
    JobChunk.objects.create(job=job, part=JobChunk.Part.RESULT, seq=0, data=b'"a"\n')
    w.objects.update(job=job)


WORLD_HOOKS.append(_job_world)

SIGNED_IN = {"anon": 302, "rep": 200, "distributor": 200, "admin": 200, "other_admin": 200}
# The rep's own job: the rep and the organization's admins see it; nobody else, not even the
# rep's distributor.
OWN_JOB = {"anon": 302, "rep": 200, "distributor": 404, "admin": 200, "other_admin": 404}
IN_ORG = {"anon": 302, "rep": 200, "distributor": 200, "admin": 200, "other_admin": 404}
RECEIVERS = {"anon": 302, "rep": 403, "distributor": 200, "admin": 200, "other_admin": 200}


def _job_pk(w):
    return {"pk": w.objects["job"].pk}


def _transfer_pk(w):
    return {"pk": w.objects["transfer"].pk}


EXPECTATIONS.update(
    {
        "inventory:unit_list": Expect("get", lambda w: {}, **SIGNED_IN),
        "inventory:unit_export": Expect("get", lambda w: {}, **SIGNED_IN),
        "inventory:unit_detail": Expect("get", lambda w: {"pk": w.objects["unit"].pk}, **IN_ORG),
        # Only admins release holds; another organization's admin finds nothing to release.
        "inventory:hold_release": Expect("post", lambda w: {}, 302, 403, 403, 302, 302),
        # The hold queue is the admins'; another organization's admin sees only their own.
        "inventory:hold_list": Expect("get", lambda w: {}, 302, 403, 403, 200, 200),
        "inventory:transfer_list": Expect("get", lambda w: {}, **SIGNED_IN),
        "inventory:transfer_new": Expect("get", lambda w: {}, **SIGNED_IN),
        "inventory:transfer_detail": Expect("get", _transfer_pk, **IN_ORG),
        # The rep sent it to the distributor: the rep may cancel, not accept or decline.
        "inventory:transfer_accept": Expect("post", _transfer_pk, 302, 403, 302, 302, 404),
        "inventory:transfer_decline": Expect(
            "post", _transfer_pk, 302, 403, 302, 302, 404, data=lambda w: {"reason": "Wrong size"}
        ),
        "inventory:transfer_cancel": Expect("post", _transfer_pk, 302, 302, 403, 302, 404),
        "inventory:receive": Expect("get", lambda w: {}, **RECEIVERS),
        "inventory:receive_udi": Expect("post", lambda w: {}, **RECEIVERS),
        "inventory:receive_csv": Expect("post", lambda w: {}, 302, 403, 400, 400, 400),
        # Giving an unknown scan's identity to a product is catalog work: admins only. An
        # empty post puts the page back with the messages.
        "inventory:receive_udi_attach": Expect("post", lambda w: {}, 302, 403, 403, 200, 200),
        "inventory:receive_udi_new_product": Expect("post", lambda w: {}, 302, 403, 403, 200, 200),
        "inventory:product_list": Expect("get", lambda w: {}, **SIGNED_IN),
        # The product picker's type-ahead, for the admins who attach; each sees their own.
        "inventory:product_search": Expect(
            "get", lambda w: {}, 302, 403, 403, 200, 200, data=lambda w: {"identity": "gtin"}
        ),
        "inventory:location_list": Expect("get", lambda w: {}, **RECEIVERS),
        "jobs:job_list": Expect("get", lambda w: {}, **SIGNED_IN),
        "jobs:job_detail": Expect("get", _job_pk, **OWN_JOB),
        "jobs:job_progress": Expect("get", _job_pk, **OWN_JOB),
        "jobs:job_download": Expect("get", _job_pk, **OWN_JOB),
    }
)


def _recall_world(w: World) -> None:
    from inventory.services.recalls import recall_record
    from tests.inventory.factories import ProductFactory, receive_units

    product = ProductFactory(organization=w.admin.organization, lot_tracked=True)
    receive_units(w.admin, w.distributor, n=1, product=product, lot_number="URL-LOT")
    w.objects["recall"] = recall_record(
        actor=w.admin,
        reference="URL-RECALL",
        reason="URL test",
        recall_class="II",
        product=product,
        lot_numbers=["URL-LOT"],
        recall_date=timezone.localdate(),
    )


WORLD_HOOKS.append(_recall_world)


def _recall_pk(w):
    return {"pk": w.objects["recall"].pk}


RECALL_ADMIN_POST = {"anon": 302, "rep": 403, "distributor": 403, "admin": 302, "other_admin": 404}

EXPECTATIONS.update(
    {
        # Admins and distributors (within their scope); reps never open recall pages.
        "inventory:recall_list": Expect("get", lambda w: {}, **RECEIVERS),
        "inventory:recall_lookup": Expect("get", lambda w: {}, **RECEIVERS),
        # The scanner's lookup answers in JSON within the visitor's own units (none here).
        "inventory:scan_lookup": Expect("get", lambda w: {}, **SIGNED_IN),
        # Nothing looked up: back to the lookup page.
        "inventory:recall_lookup_export": Expect("get", lambda w: {}, 302, 403, 302, 302, 302),
        "inventory:recall_new": Expect("get", lambda w: {}, 302, 403, 403, 200, 200),
        # The recall touches the distributor's unit, so she sees it.
        "inventory:recall_detail": Expect("get", _recall_pk, 302, 403, 200, 200, 404),
        "inventory:recall_return": Expect("post", _recall_pk, **RECALL_ADMIN_POST),
        "inventory:recall_withdraw": Expect("post", _recall_pk, **RECALL_ADMIN_POST),
        "inventory:unit_move": Expect("get", lambda w: {}, **SIGNED_IN),
        "inventory:par_level_list": Expect("get", lambda w: {}, **RECEIVERS),
        # No par level of that id in anyone's organization: missing, the same to every keeper.
        "inventory:par_replenish": Expect("get", lambda w: {"pk": 2**62}, 302, 403, 404, 404, 404),
    }
)


def _mismatch_world(w: World) -> None:
    from tests.inventory.factories import ProductFactory, receive_units, record_mismatch

    product = ProductFactory(organization=w.admin.organization, gtin="09506000134352")
    (unit,) = receive_units(
        w.admin, w.rep, n=1, product=product, serial_prefix="MM-", lot_number="MM-LOT"
    )
    w.objects["mismatch"] = record_mismatch(w.rep, unit)


WORLD_HOOKS.append(_mismatch_world)

EXPECTATIONS.update(
    {
        # Label mismatches are the admins' to review; another organization's admin sees only
        # their own (none here) and cannot resolve this one.
        "inventory:label_mismatch_list": Expect("get", lambda w: {}, 302, 403, 403, 200, 200),
        "inventory:label_mismatch_resolve": Expect(
            "post", lambda w: {"pk": w.objects["mismatch"].pk}, **ADMIN_ONLY_POST
        ),
    }
)


def _events_world(w: World) -> None:
    from events.models import Procedure
    from inventory.models import Facility

    org = w.admin.organization
    facility = Facility.objects.create(organization=org, name="URL Hospital")
    procedure = Procedure.objects.create(organization=org, name="URL procedure")
    event = event_create(
        actor=w.rep,
        type="case",
        representative=w.rep,
        facility=facility,
        procedure=procedure,
        scheduled_at=timezone.now(),
    )
    comment = comment_add(
        actor=w.rep, event=event, body=f"@{w.distributor.username} please restock"
    )
    notification = w.distributor.notifications.get(kind="mention")
    w.objects.update(event=event, comment=comment, notification=notification, facility=facility)


WORLD_HOOKS.append(_events_world)


def _event_pk(w):
    return {"pk": w.objects["event"].pk}


# Seen and edited by the representative (the rep), their distributor and admins.
EVENT_GET = IN_ORG
EVENT_POST = {"anon": 302, "rep": 302, "distributor": 302, "admin": 302, "other_admin": 404}

EXPECTATIONS.update(
    {
        "events:event_list": Expect("get", lambda w: {}, **SIGNED_IN),
        "events:event_create": Expect("get", lambda w: {}, **SIGNED_IN),
        "events:event_detail": Expect("get", _event_pk, **EVENT_GET),
        "events:event_edit": Expect("get", _event_pk, **EVENT_GET),
        "events:mark_used": Expect("get", _event_pk, **EVENT_GET),
        # The camera scanner's answer to a code (here none: a refusal in JSON), and the tap
        # that marks (refused, 422, without a code); another organization's case is not found.
        "events:mark_used_scan_check": Expect("get", _event_pk, **EVENT_GET),
        "events:mark_used_scan_mark": Expect("post", _event_pk, 302, 422, 422, 422, 404),
        "events:unmark": Expect("post", _event_pk, **EVENT_POST),
        # Mark Used without signal: the open case's snapshot (JSON) for those who see it; whose
        # session it is and a CSRF token, to anyone; the sync answers a signed-out phone 401 in
        # JSON (it cannot follow a login page) and a body that is not its JSON 400.
        "events:offline_snapshot": Expect("get", _event_pk, **EVENT_GET),
        "events:offline_session": Expect("get", lambda w: {}, 200, 200, 200, 200, 200),
        "events:offline_sync": Expect("post", lambda w: {}, 401, 400, 400, 400, 400),
        "events:event_submit": Expect("post", _event_pk, **EVENT_POST),
        "events:event_submit_confirm": Expect("get", _event_pk, **EVENT_GET),
        "events:event_cancel": Expect("post", _event_pk, **EVENT_POST),
        # Refused steps (not submitted yet, or not completed) redirect back with the reason.
        "events:event_complete": Expect(
            "post", _event_pk, **EVENT_POST, data=lambda w: {"po_number": "PO-1"}
        ),
        "events:event_paid": Expect("post", _event_pk, **EVENT_POST),
        "events:event_reopen": Expect("post", _event_pk, **EVENT_POST),
        "events:usage_csv": Expect("get", _event_pk, **EVENT_GET),
        "events:comment_add": Expect(
            "post", _event_pk, **EVENT_POST, data=lambda w: {"body": "Noted."}
        ),
        # Only the author edits a comment.
        "events:comment_edit": Expect(
            "get",
            lambda w: {"pk": w.objects["event"].pk, "comment_pk": w.objects["comment"].pk},
            302,
            200,
            403,
            403,
            404,
        ),
        "events:mention_autocomplete": Expect("get", _event_pk, **EVENT_GET),
        "accounts:notification_list": Expect("get", lambda w: {}, **SIGNED_IN),
        "accounts:notification_read": Expect("post", lambda w: {}, 302, 302, 302, 302, 302),
        # Everyone signed in sets their own email switches; nobody else's.
        "accounts:notification_settings": Expect("get", lambda w: {}, **SIGNED_IN),
        # A notification opens only for the person it was meant for.
        "accounts:notification_open": Expect(
            "get", lambda w: {"pk": w.objects["notification"].pk}, 302, 404, 302, 404, 404
        ),
        "events:directory": Expect("get", lambda w: {}, **SIGNED_IN),
        "events:directory_edit": Expect(
            "get",
            lambda w: {"kind": "facility", "pk": w.objects["facility"].pk},
            302,
            403,
            200,
            200,
            404,
        ),
    }
)


# The organization's full export: its admins only (another organization's admin exports theirs).
EXPECTATIONS["integrations:export"] = Expect("get", lambda w: {}, 302, 403, 403, 200, 200)


def _webhook_world(w: World) -> None:
    from api.models import WebhookDelivery, WebhookEvent
    from api.webhooks.services import subscription_create

    subscription, _ = subscription_create(
        actor=w.admin, url="https://hooks.example.com/in", event_types=["transfer.created"]
    )
    event = WebhookEvent.objects.create(
        organization=w.admin.organization, type="transfer.created", payload={}
    )
    delivery = WebhookDelivery.objects.create(subscription=subscription, event=event)
    w.objects.update(webhook=subscription, webhook_delivery=delivery)


WORLD_HOOKS.append(_webhook_world)


def _webhook_pk(w):
    return {"pk": w.objects["webhook"].pk}


def _webhook_delivery_pks(w):
    return {"pk": w.objects["webhook"].pk, "delivery_pk": w.objects["webhook_delivery"].pk}


# Admins only; another organization's admin finds none of this organization's webhooks.
EXPECTATIONS.update(
    {
        "integrations:webhook_list": Expect("get", lambda w: {}, 302, 403, 403, 200, 200),
        "integrations:webhook_create": Expect("get", lambda w: {}, 302, 403, 403, 200, 200),
        "integrations:webhook_detail": Expect("get", _webhook_pk, **ADMIN_ONLY),
        # Rotating answers with the new secret (shown once), not a redirect.
        "integrations:webhook_rotate": Expect("post", _webhook_pk, **ADMIN_ONLY),
        "integrations:webhook_set_active": Expect(
            "post", _webhook_pk, **ADMIN_ONLY_POST, data=lambda w: {"active": "0"}
        ),
        "integrations:webhook_delivery_detail": Expect("get", _webhook_delivery_pks, **ADMIN_ONLY),
        "integrations:webhook_resend": Expect("post", _webhook_delivery_pks, **ADMIN_ONLY_POST),
    }
)


def _token_world(w: World) -> None:
    import datetime as _dt

    from api.services.tokens import integration_create, token_create

    expires_at = timezone.now() + _dt.timedelta(days=30)
    token, _ = token_create(actor=w.rep, name="Rep script", scope="read", expires_at=expires_at)
    integration, _ = integration_create(
        actor=w.admin, name="ERP", role="distributor", scope="read", expires_at=expires_at
    )
    w.objects.update(rep_token=token, integration_user=integration.user)


WORLD_HOOKS.append(_token_world)
INTEGRATIONS = {"anon": 302, "rep": 403, "distributor": 403, "admin": 200, "other_admin": 200}

EXPECTATIONS.update(
    {
        # Everyone makes and lists their own tokens; a new token's page has nothing to show
        # unless a token was just made (it sends them to the list).
        "integrations:token_list": Expect("get", lambda w: {}, **SIGNED_IN),
        "integrations:token_create": Expect("get", lambda w: {}, **SIGNED_IN),
        "integrations:token_created": Expect("get", lambda w: {}, 302, 302, 302, 302, 302),
        # The rep's personal token: only the rep revokes it; not their distributor, not admins.
        "integrations:token_revoke": Expect(
            "post", lambda w: {"pk": w.objects["rep_token"].pk}, 302, 302, 404, 404, 404
        ),
        "integrations:integration_list": Expect("get", lambda w: {}, **INTEGRATIONS),
        "integrations:integration_create": Expect("get", lambda w: {}, **INTEGRATIONS),
        "integrations:integration_token_create": Expect(
            "get", lambda w: {"pk": w.objects["integration_user"].pk}, 302, 403, 403, 200, 404
        ),
    }
)


def _all_url_names(patterns=None, namespace=""):
    patterns = get_resolver().url_patterns if patterns is None else patterns
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _all_url_names(entry.url_patterns, ns)
        elif isinstance(entry, URLPattern):
            yield f"{namespace}{entry.name}" if entry.name else f"<unnamed {entry.pattern}>"


def test_every_url_has_a_declared_expectation():
    # The API answers tokens, not sessions' redirects: its own matrix declares every API URL
    # and method for every caller (tests/api/test_api_permissions.py).
    names = {n for n in _all_url_names() if not n.startswith("api:")}
    assert sorted(names - EXPECTATIONS.keys()) == [], "declare these URLs in EXPECTATIONS"
    assert sorted(EXPECTATIONS.keys() - names) == [], "stale expectations for removed URLs"


def _visit(world, name, visitor, expect) -> list[str]:
    """What went wrong for one visitor of one URL (nothing when it answered as declared)."""
    client = Client()
    user = world.visitor(visitor)
    if user is not None:
        client.force_login(user)
    url = reverse(name, kwargs=expect.kwargs(world))
    response = getattr(client, expect.method)(url, expect.data(world))
    wanted = expect.status_for(visitor)
    where = f"{expect.method.upper()} {url} as {visitor}"
    if response.status_code != wanted:
        return [f"{where}: {response.status_code}, wanted {wanted}"]
    login = reverse("login")
    if (
        visitor == "anon"
        and wanted == 302
        and name != "logout"
        and not (response["Location"].startswith(login))
    ):
        return [f"{where}: redirected to {response['Location']}, not the login page"]
    # A refused write must not be reachable by GET either.
    if (
        expect.method == "post"
        and wanted in (403, 404)
        and (client.get(url).status_code not in (403, 404, 405))
    ):
        return [f"{where}: refused, but a GET reaches it"]
    return []


@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
def test_url_answers_each_visitor_as_declared(world, name):
    """Each visitor in turn, each inside a savepoint rolled back after it: one visitor's
    write (accepting a transfer) never changes what the next finds, and the world is built
    once per URL instead of once per visitor."""
    expect = EXPECTATIONS[name]
    wrong = []
    for visitor in VISITORS:
        with transaction.atomic():
            wrong += _visit(world, name, visitor, expect)
            transaction.set_rollback(True)
    assert not wrong, "\n".join(wrong)


# Another group's transfers, by id: (transfer, URL name) -> status per visitor. The rep's pool
# is on, and still casey's transfer to the rep's distributor answers 404 to the rep.
OTHER_GROUP_TRANSFERS = {
    ("casey_to_distributor", "transfer_detail"): (302, 404, 200, 200, 404),
    ("casey_to_distributor", "transfer_accept"): (302, 404, 302, 302, 404),
    ("casey_to_distributor", "transfer_decline"): (302, 404, 302, 302, 404),
    ("casey_to_distributor", "transfer_cancel"): (302, 404, 403, 302, 404),
    ("casey_to_drew", "transfer_detail"): (302, 404, 404, 200, 404),
    ("casey_to_drew", "transfer_accept"): (302, 404, 404, 302, 404),
    ("casey_to_drew", "transfer_decline"): (302, 404, 404, 302, 404),
    ("casey_to_drew", "transfer_cancel"): (302, 404, 404, 302, 404),
}


@pytest.mark.parametrize("visitor", VISITORS)
@pytest.mark.parametrize(("transfer", "name"), sorted(OTHER_GROUP_TRANSFERS))
def test_another_groups_transfers_answer_each_visitor_as_declared(
    client, world, transfer, name, visitor
):
    user = world.visitor(visitor)
    if user is not None:
        client.force_login(user)
    url = reverse(f"inventory:{name}", kwargs={"pk": world.objects[transfer].pk})
    method = "get" if name == "transfer_detail" else "post"
    response = getattr(client, method)(url, {"reason": "Wrong size"})
    wanted = OTHER_GROUP_TRANSFERS[(transfer, name)][VISITORS.index(visitor)]
    assert response.status_code == wanted, f"{method.upper()} {url} as {visitor}"
