from .selectors import unread_count


def notifications(request):
    """The bell's unread count in the navigation: one indexed query per page."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.organization_id is None:
        return {}
    return {"unread_notifications": unread_count(user=user)}
