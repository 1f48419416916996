"""Notifications are everyone's own: listing and marking read answer every member alike."""

from .common import ApiExpect, no_kwargs

EXPECTATIONS = {
    ("api:notification_list", "get"): ApiExpect(no_kwargs, 401, 200, 200, 200, 200, 200),
    ("api:notification_read", "post"): ApiExpect(
        no_kwargs, 401, 200, 200, 200, 200, 200, data=lambda w: {"all": True}
    ),
}
