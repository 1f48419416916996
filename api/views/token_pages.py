"""/integrations/tokens/: people's personal API tokens and admins' integrations (pages, not API).

A new token is shown once: the create view keeps the whole token in the session for exactly
one request, the page after the redirect takes it out, and nothing shows it again.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from accounts.models import User
from accounts.selectors import actor_for
from api.forms import IntegrationForm, TokenForm
from api.models import ApiToken
from api.policies import can_manage_integrations
from api.services import tokens as token_services
from core.keyset import keyset_page
from core.web import add_form_errors, org_member_required

TOKEN_ORDER = [("created_at", "desc"), ("pk", "desc")]
# The session key holding a new token until the page after creation shows it.
SHOW_ONCE = "api_token_show_once"


def _require_integrations(request) -> None:
    if not can_manage_integrations(actor=actor_for(request.user)):
        raise PermissionDenied("Only admins manage integrations.")


def _shown_next(request, token: ApiToken, whole: str):
    request.session[SHOW_ONCE] = {"id": token.pk, "token": whole}
    return redirect("integrations:token_created")


@org_member_required
def token_list(request):
    tokens = ApiToken.objects.visible_to(request.user).filter(user=request.user)
    page = keyset_page(request, tokens, TOKEN_ORDER)
    return render(
        request,
        "api/token_list.html",
        {
            "tokens": page.rows,
            "page": page,
            "now": timezone.now(),
            "integrations": can_manage_integrations(actor=actor_for(request.user)),
        },
    )


@org_member_required
def token_create(request):
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            token, whole = token_services.token_create(actor=request.user, **form.token_terms())
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            return _shown_next(request, token, whole)
    return render(request, "api/token_form.html", {"form": form, "kind": "personal"})


@never_cache
@org_member_required
def token_created(request):
    """The one page that shows a new token; a reload finds nothing left to show."""
    shown = request.session.pop(SHOW_ONCE, None)
    token = None
    if isinstance(shown, dict):
        token = (
            ApiToken.objects.visible_to(request.user)
            .select_related("user")
            .filter(pk=shown.get("id"))
            .first()
        )
    if token is None:
        messages.info(
            request,
            "A token is shown only once, right after it is made. If it was lost, revoke it "
            "and make a new one.",
        )
        return redirect("integrations:token_list")
    return render(request, "api/token_created.html", {"token": token, "whole": shown["token"]})


@org_member_required
def token_revoke(request, pk):
    token = get_object_or_404(
        ApiToken.objects.visible_to(request.user).select_related("user"), pk=pk
    )
    back = "integrations:integration_list" if token.user.is_service else "integrations:token_list"
    if request.method == "POST":
        if token_services.token_revoke(actor=request.user, token=token):
            messages.success(request, f"Revoked “{token.name}”: calls with it are refused now.")
        else:
            messages.info(request, f"“{token.name}” was already revoked.")
        return redirect(back)
    return render(request, "api/token_revoke.html", {"token": token, "back": back})


@org_member_required
def integration_list(request):
    _require_integrations(request)
    tokens = (
        ApiToken.objects.visible_to(request.user)
        .filter(user__is_service=True)
        .select_related("user", "created_by")
    )
    page = keyset_page(request, tokens, TOKEN_ORDER)
    return render(
        request,
        "api/token_integrations.html",
        {"tokens": page.rows, "page": page, "now": timezone.now()},
    )


@org_member_required
def integration_create(request):
    _require_integrations(request)
    form = IntegrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            token, whole = token_services.integration_create(
                actor=request.user, role=form.cleaned_data["role"], **form.token_terms()
            )
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            return _shown_next(request, token, whole)
    return render(request, "api/token_form.html", {"form": form, "kind": "integration"})


@org_member_required
def integration_token_create(request, pk):
    _require_integrations(request)
    service_user = get_object_or_404(
        User.objects.visible_to(request.user).filter(is_service=True), pk=pk
    )
    form = TokenForm(request.POST or None, initial={"name": service_user.name})
    if request.method == "POST" and form.is_valid():
        try:
            token, whole = token_services.integration_token_create(
                actor=request.user, service_user=service_user, **form.token_terms()
            )
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            return _shown_next(request, token, whole)
    return render(
        request,
        "api/token_form.html",
        {"form": form, "kind": "integration_token", "service_user": service_user},
    )
