"""Mark Used without signal, the server's side: the snapshot of an open event a phone keeps,
whose session the phone is in (with a fresh CSRF token), and the one endpoint its queued marks
are replayed to. JSON only, for static/js/offline/; the server stays the judge."""

from __future__ import annotations

from django.http import JsonResponse
from django.middleware.csrf import get_token
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_POST

from accounts.selectors import actor_for
from core.web import org_member_required
from events import policies, selectors
from events.forms import ClientOperationForm, SyncBodyError, sync_operations
from events.services.offline import NOT_YOURS, ClientOp, client_operations_apply
from events.views.events import get_event

# Nothing here may be kept by a cache on the way: it names stock, and it is someone's session.
no_store = cache_control(no_store=True)


@org_member_required
@require_GET
@no_store
def offline_snapshot(request, pk):
    """The event and the units its representative may use now, for a phone to keep."""
    event = get_event(request, pk)
    if not policies.can_mark_used(actor=actor_for(request.user), event=event):
        status = event.get_status_display().lower()
        return JsonResponse(
            {"message": f"This event is {status}: it cannot be prepared for offline use."},
            status=409,
        )
    return JsonResponse(selectors.offline_snapshot(event=event, viewer=request.user))


@require_GET
@no_store
def offline_session(request):
    """Whose session this is (null: signed out) and a CSRF token, asked before every replay:
    a phone's page may have been cached hours ago, under another sign-in."""
    if not request.user.is_authenticated:
        # No token for nobody: minting one would set a new CSRF cookie under a login form
        # open in another tab (a replay in the background while the rep signs in again), and
        # that form would then be refused.
        return JsonResponse({"user": None, "csrf": ""})
    return JsonResponse({"user": request.user.pk, "csrf": get_token(request)})


@require_POST
@no_store
def offline_sync(request):
    """Replay queued operations, in order, each on its own (one refusal never undoes another);
    an operation of the wrong shape is answered "invalid" and stored nowhere. Signed out is a
    401 the phone understands, never the login page."""
    if not request.user.is_authenticated:
        return JsonResponse({"signed_out": True, "message": "Sign in again to sync."}, status=401)
    if request.user.organization_id is None:
        return JsonResponse({"message": "Your account belongs to no organization."}, status=403)
    try:
        operations = sync_operations(request.body)
    except SyncBodyError as exc:
        return JsonResponse({"message": str(exc)}, status=400)
    results: list[dict | None] = []
    valid: list[tuple[int, ClientOp]] = []
    for operation in operations:
        form = ClientOperationForm(operation)
        if not form.is_valid():
            results.append({"id": form.sent_id, "status": "invalid", "message": form.reason()})
            continue
        data = form.cleaned_data
        if data["user"] is not None and data["user"] != request.user.pk:
            # Made by someone else on this phone: it waits there for them, and nothing here
            # is stored (the phone checks this too; the server does not rely on it).
            results.append({"id": str(data["id"]), "status": "wrong_user", "message": NOT_YOURS})
            continue
        op = ClientOp(
            id=data["id"],
            kind=data["kind"],
            event_id=data["event"],
            unit_id=data["unit"],
            label=data["label"],
            how=data["how"],
            reported_at=data["at"],
        )
        valid.append((len(results), op))
        results.append(None)
    answers = client_operations_apply(actor=request.user, ops=[op for _, op in valid])
    for (index, _), answer in zip(valid, answers, strict=True):
        results[index] = answer
    return JsonResponse({"results": results})
