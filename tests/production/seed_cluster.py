"""Run with DATABASE_URL at a test cluster's primary (tests/production/test_replica_and_backup.py):
the demo organization through the app's own code, dana's pool switched on by the admin, and a
read-only API token for casey, printed as JSON for the test."""

import datetime
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.hashers import PBKDF2PasswordHasher  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import DistributorGroup, User  # noqa: E402
from accounts.services import group_set_pooling  # noqa: E402
from api.models.tokens import TokenScope  # noqa: E402
from api.services.tokens import token_create  # noqa: E402

# The server checks a hash with the iterations written in it: a cheap hash here saves seconds of
# seeding, and the server's first sign-in of each user re-hashes at the full count.
PBKDF2PasswordHasher.iterations = 1000
call_command("seed_demo", force=True, verbosity=0)
admin, casey = User.objects.get(username="admin"), User.objects.get(username="casey")
group_set_pooling(
    actor=admin, group=DistributorGroup.objects.get(distributor__username="dana"), enabled=True
)
_, whole = token_create(
    actor=casey,
    name="replica test",
    scope=TokenScope.READ,
    expires_at=timezone.now() + datetime.timedelta(days=7),
)
print(json.dumps({"casey_token": whole}))
