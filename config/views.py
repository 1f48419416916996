"""The two pages with no app behind them: the load balancer's health check and the bad-request
page."""

from django.core.exceptions import TooManyFieldsSent
from django.db import DatabaseError, connection
from django.http import HttpResponse
from django.views import defaults

from core.web import selection_too_large


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
