from django.contrib.auth.decorators import login_required
from django.core.exceptions import TooManyFieldsSent
from django.db import DatabaseError, connection
from django.http import HttpResponse
from django.shortcuts import render
from django.views import defaults

from .web import selection_too_large


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
    """For the load balancer: 200 "ok" when the app reaches its database, else 503."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return HttpResponse("database unreachable", status=503, content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")


def bad_request(request, exception):
    """A form with more fields than Django accepts is a selection over the limit: say so."""
    if isinstance(exception, TooManyFieldsSent):
        return selection_too_large(request)
    return defaults.bad_request(request, exception)
