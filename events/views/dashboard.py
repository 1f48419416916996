"""The dashboard: what needs each person's attention first (README, What people see first)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from accounts.selectors import actor_for
from events.selectors import dashboard


@login_required
def home(request):
    """The dashboard: what needs the person's attention first, each number a link."""
    context = {}
    if request.user.organization_id is not None:
        context["dash"] = dashboard(user=request.user, actor=actor_for(request.user))
    return render(request, "home.html", context)
