"""The WSGI application gunicorn serves (`gunicorn config.wsgi`)."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()


def _freeze_what_lives_as_long_as_the_process() -> None:
    """Load every view module now, then take what is loaded out of the garbage collector's
    reach (`gc.freeze`).

    Django, its apps and the URL patterns are over 100,000 objects that live as long as the
    worker. Python's oldest-generation collection walked them all, every few hundred requests:
    a 40-70 ms pause in the request it landed on, which set the ten-organization page table's
    95th percentiles (bench_scale). Frozen, the same collections take 1-11 ms.
    """
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018  (imports the URLconf and every view, as a first request would)
    gc.collect()
    gc.freeze()


_freeze_what_lives_as_long_as_the_process()
