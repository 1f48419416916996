"""Admin portal: users, distributor profiles, assigned users and the pooling switch."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from core.clientip import client_address
from core.keyset import keyset_page
from core.web import add_form_errors, org_member_required, selected_ids

from . import services
from .fields import holder_label
from .forms import (
    AssignRepForm,
    NotificationSettingsForm,
    PoolingForm,
    TrunkpoolPasswordResetForm,
    UserCreateForm,
    UserEditForm,
    UserFilterForm,
)
from .models import DistributorGroup, Notification, User
from .policies import can_manage_users
from .selectors import (
    HolderPurpose,
    actor_for,
    email_preferences,
    holder_matches,
    login_failures,
    notification_rows,
    user_list,
)

USER_LIST_ORDER = [("display_name", "asc"), ("username", "asc"), ("pk", "asc")]


def admin_required(view):
    """Anonymous users go to the login page; signed-in non-admins get 403."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.user.organization_id is None or not can_manage_users(
            actor=actor_for(request.user)
        ):
            raise PermissionDenied("Only admins manage users.")
        return view(request, *args, **kwargs)

    return wrapper


def _error_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _get_user(request, pk):
    return get_object_or_404(User.objects.visible_to(request.user), pk=pk)


@admin_required
def user_list_view(request):
    form = UserFilterForm(request.GET or None)
    search = role = ""
    if form.is_valid():
        search = form.cleaned_data["q"].strip()
        role = form.cleaned_data["role"]
    elif form.is_bound:
        messages.error(request, "That filter is not valid; showing all users.")
    page = keyset_page(
        request,
        user_list(viewer=request.user, search=search, role=role),
        USER_LIST_ORDER,
    )
    return render(
        request, "accounts/user_list.html", {"form": form, "users": page.rows, "page": page}
    )


@admin_required
def user_create_view(request):
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_create(
                actor=request.user,
                organization=request.user.organization,
                **form.cleaned_data,
            )
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            messages.success(
                request,
                f"Created {user}; an invitation to set a password is on its way to {user.email}.",
            )
            return redirect("accounts:user_detail", pk=user.pk)
    return render(request, "accounts/user_form.html", {"form": form, "creating": True})


@admin_required
def user_edit_view(request, pk):
    user = _get_user(request, pk)
    initial = {"display_name": user.display_name, "email": user.email, "role": user.role}
    form = UserEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_update(actor=request.user, user=user, **form.cleaned_data)
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, f"Saved {user}.")
            return redirect("accounts:user_detail", pk=user.pk)
    return render(
        request, "accounts/user_form.html", {"form": form, "subject": user, "creating": False}
    )


@admin_required
@require_POST
def user_set_active_view(request, pk):
    user = _get_user(request, pk)
    value = request.POST.get("active")
    if value not in ("0", "1"):
        messages.error(request, "Say whether the account should be active (1) or not (0).")
        return redirect("accounts:user_detail", pk=user.pk)
    active = value == "1"
    try:
        services.user_set_active(actor=request.user, user=user, active=active)
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, f"{user} is {'active' if active else 'deactivated'}.")
    return redirect("accounts:user_detail", pk=user.pk)


@admin_required
@require_POST
def user_invite_view(request, pk):
    user = _get_user(request, pk)
    try:
        services.user_invite(actor=request.user, user=user)
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, f"Sent {user} a new invitation to set a password ({user.email}).")
    return redirect("accounts:user_detail", pk=user.pk)


@admin_required
@require_POST
def user_unlock_view(request, pk):
    user = _get_user(request, pk)
    cleared = services.user_unlock(actor=request.user, user=user)
    if cleared:
        messages.success(request, f"{user} can sign in again: the failed sign-ins are cleared.")
    else:
        messages.info(request, f"{user} was not locked out.")
    return redirect("accounts:user_detail", pk=user.pk)


@admin_required
def user_detail_view(request, pk):
    user = _get_user(request, pk)
    return render(request, "accounts/user_detail.html", _detail_context(request, user))


def _detail_context(request, user, *, assign_form=None) -> dict:
    context = {"subject": user, "login": login_failures(user=user)}
    if user.is_distributor:
        group = DistributorGroup.objects.filter(distributor=user).first()
        if group is not None:
            members = list(
                group.members.select_related("rep").order_by("rep__display_name", "rep__username")
            )
            context.update(
                group=group,
                members=members,
                assign_form=assign_form or AssignRepForm(user=request.user),
                history=list(group.changes.select_related("actor", "rep")[:20]),
            )
    elif user.is_rep:
        membership = getattr(user, "membership", None)
        context["membership"] = membership
    return context


@login_required
def holder_search_view(request):
    """Type-ahead for holder pickers: at most 20 people the user may pick for `purpose`."""
    if request.user.organization_id is None:
        raise PermissionDenied("Your account belongs to no organization.")
    purpose = request.GET.get("purpose", "")
    if purpose not in HolderPurpose.ALL:
        return JsonResponse(
            {"error": f"Say what the holder is for: purpose={' | '.join(HolderPurpose.ALL)}."},
            status=400,
        )
    try:
        exclude_id = int(request.GET.get("exclude", ""))
    except ValueError:
        exclude_id = None
    # Control characters (NUL included) never appear in a name: drop them.
    query = "".join(ch for ch in request.GET.get("q", "")[:50] if ch.isprintable())
    people = holder_matches(
        actor=actor_for(request.user), purpose=purpose, query=query, exclude_id=exclude_id
    )
    return JsonResponse(
        {
            "results": [
                {
                    "id": u.pk,
                    "name": u.name,
                    "username": u.username,
                    "role": u.get_role_display(),
                    "label": holder_label(u),
                }
                for u in people
            ]
        }
    )


def _group_of(request, pk) -> DistributorGroup:
    distributor = _get_user(request, pk)
    return get_object_or_404(DistributorGroup, distributor=distributor)


def _back_to_assigned(group: DistributorGroup):
    return redirect(
        reverse("accounts:user_detail", args=[group.distributor_id]) + "#assigned-users"
    )


@admin_required
@require_POST
def group_assign_view(request, pk):
    group = _group_of(request, pk)
    form = AssignRepForm(request.POST, user=request.user)
    if not form.is_valid():
        # Typed without the suggestions (or they matched several): the page comes back with
        # the text as typed and the message next to the box.
        context = _detail_context(request, group.distributor, assign_form=form)
        return render(request, "accounts/user_detail.html", context)
    rep = form.cleaned_data["rep"]
    try:
        services.group_assign_rep(actor=request.user, group=group, rep=rep)
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, f"Assigned {rep} to {group.distributor}.")
    return _back_to_assigned(group)


@admin_required
@require_POST
def group_unassign_view(request, pk, rep_pk):
    group = _group_of(request, pk)
    rep = _get_user(request, rep_pk)
    try:
        services.group_unassign_rep(actor=request.user, group=group, rep=rep)
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, f"Removed {rep} from {group.distributor}'s assigned users.")
    return _back_to_assigned(group)


@admin_required
@require_POST
def group_pooling_view(request, pk):
    group = _group_of(request, pk)
    form = PoolingForm(request.POST)
    if not form.is_valid():  # a checkbox: absent means off; only garbage in it is refused
        for error in form.errors.get("pooling_enabled", []):
            messages.error(request, error)
        return _back_to_assigned(group)
    enabled = form.cleaned_data["pooling_enabled"]
    changed = services.group_set_pooling(actor=request.user, group=group, enabled=enabled)
    state = "on" if enabled else "off"
    if changed:
        messages.success(
            request, f"Access Distributor's Inventory is {state} for {group.distributor}."
        )
    else:
        messages.info(request, f"Access Distributor's Inventory was already {state}.")
    return _back_to_assigned(group)


# --- Notifications (everyone's own) -----------------------------------------------------------


@org_member_required
def notification_list(request):
    page = keyset_page(
        request,
        notification_rows(user=request.user),
        [("created_at", "desc"), ("pk", "desc")],
    )
    return render(
        request, "accounts/notification_list.html", {"notifications": page.rows, "page": page}
    )


@org_member_required
@require_POST
def notification_read(request):
    ids = None if request.POST.get("all") else selected_ids(request.POST.getlist("id"))
    count = services.notifications_mark_read(user=request.user, ids=ids)
    messages.success(request, f"Marked {count} notification(s) read.")
    return redirect("accounts:notification_list")


@org_member_required
def notification_open(request, pk):
    """Mark it read and go to what it is about (the path stored when it was created)."""
    notification = get_object_or_404(Notification, pk=pk, user=request.user)
    services.notifications_mark_read(user=request.user, ids=[notification.pk])
    target = notification.url
    if not target.startswith("/") or not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}
    ):
        target = reverse("accounts:notification_list")
    return redirect(target)


@org_member_required
def notification_settings(request):
    form = NotificationSettingsForm(
        request.POST or None, preferences=email_preferences(user=request.user)
    )
    if request.method == "POST" and form.is_valid():
        services.notification_preferences_set(user=request.user, email_kinds=form.email_kinds())
        messages.success(request, "Saved: you get email for the kinds ticked.")
        return redirect("accounts:notification_settings")
    return render(request, "accounts/notification_settings.html", {"form": form})


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset page, limited per client address and per account
    (services.password_reset_allowed). Past a limit no email is sent, and the answer is the
    same redirect as always: it tells nobody whether the account exists or the limit was hit."""

    form_class = TrunkpoolPasswordResetForm

    def form_valid(self, form):
        allowed = services.password_reset_allowed(
            email=form.cleaned_data["email"], address=client_address(self.request)
        )
        if allowed:
            return super().form_valid(form)
        return HttpResponseRedirect(self.get_success_url())
