from .selectors import actor_for, unread_count, unread_label


def navigation(request):
    """The acting user's role snapshot, so base.html can show the menu their role needs."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.organization_id is None:
        return {}
    return {"actor": actor_for(user)}


def notifications(request):
    """The bell's unread count in the navigation: one bounded, indexed query per page."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.organization_id is None:
        return {}
    count = unread_count(user=user)
    return {"unread_notifications": count, "unread_label": unread_label(count)}
