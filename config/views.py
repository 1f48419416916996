from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpResponse
from django.shortcuts import render


@login_required
def home(request):
    """The dashboard: what needs the person's attention first, each number a link."""
    context = {}
    if request.user.organization_id is not None:
        from accounts.selectors import actor_for
        from events.selectors import dashboard

        context["dash"] = dashboard(user=request.user, actor=actor_for(request.user))
    return render(request, "home.html", context)


def healthz(request):
    """For the load balancer: the app is up and can reach its database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")
