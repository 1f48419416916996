"""The pages with no app behind them: the load balancer's health check, the bad-request page,
and the not-found answer."""

from django.core.exceptions import TooManyFieldsSent
from django.db import DatabaseError, connection
from django.http import HttpResponse, JsonResponse
from django.views import defaults

from api.errors import error_body
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


def page_not_found(request, exception):
    """A URL under /api/ that matches nothing answers in the API's one JSON error shape (a
    program parses one shape, and the schema promises JSON); elsewhere, the 404 page."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            error_body("not_found", "There is no API URL at this address."), status=404
        )
    return defaults.page_not_found(request, exception)
