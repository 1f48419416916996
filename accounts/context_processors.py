from .selectors import actor_for


def navigation(request):
    """The acting user's role snapshot, so base.html can show the menu their role needs."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.organization_id is None:
        return {}
    return {"actor": actor_for(user)}
