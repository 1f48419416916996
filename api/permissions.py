"""What a caller's credentials allow, before any rule about the objects themselves (those are
the services' and policies' to answer, as on the pages)."""

from rest_framework import permissions

from api.models import ApiToken


class TokenScopeAllows(permissions.BasePermission):
    """Signed in (session or token), and a read-only token never writes."""

    message = "This token is read-only: make a read-and-write token to change anything."

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated and user.organization_id):
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        token = request.auth
        return not isinstance(token, ApiToken) or token.can_write
