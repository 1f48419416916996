"""Settings come from the environment (django-environ); defaults make `make run` work at once.

Production sets DEBUG=False, SECRET_KEY, DATABASE_URL (PostgreSQL), ALLOWED_HOSTS and EMAIL_URL.
"""

import datetime
import sys
from pathlib import Path

import environ
import xstatic.pkg.bootstrap
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env(
    DEBUG=(bool, False),
    ALLOWED_HOSTS=(list, ["127.0.0.1", "localhost"]),
    CSRF_TRUSTED_ORIGINS=(list, []),
    SECURE_COOKIES=(bool, False),
    SECURE_SSL_REDIRECT=(bool, False),
    SECURE_HSTS_SECONDS=(int, 0),
)
environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env("DEBUG")
# The fallback key is only for trying the app locally; check --deploy flags it.
SECRET_KEY = env("SECRET_KEY", default="django-insecure-trunkpool-local-only")
ALLOWED_HOSTS = env("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env("CSRF_TRUSTED_ORIGINS")

# --- Database roles and pooled connections (README, "Production") ---
# The app and its job workers connect with DATABASE_URL, a role with data rights only. The
# commands that change the schema or grant rights connect as the schema's owner instead, with
# DATABASE_OWNER_URL when it is set. They are picked by command name here, so a migration, its
# RunPython steps and post_migrate handlers all run on the one "default" alias: a second alias
# would let any data migration that forgot `.using(alias)` write as the app role.
OWNER_COMMANDS = ("migrate", "db_app_role")
APP_DATABASE = env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
RUNS_AS_OWNER = (
    len(sys.argv) > 1
    and sys.argv[1] in OWNER_COMMANDS
    and bool(env("DATABASE_OWNER_URL", default=""))
)
DATABASE_POOL = env.bool("DATABASE_POOL", default=False)


def database(config: dict, *, pool: bool = DATABASE_POOL) -> dict:
    """One DATABASES entry (any alias) with the app's connection rules.

    With `pool` on PostgreSQL, each process keeps a psycopg_pool of DATABASE_POOL_MIN_SIZE to
    DATABASE_POOL_MAX_SIZE connections and a request waits at most DATABASE_POOL_TIMEOUT seconds
    for one. The pool holds connections itself, and Django refuses a non-zero CONN_MAX_AGE
    beside it, so that is 0; otherwise a connection is kept 60 s (0 with DEBUG).
    """
    config = {**config, "ATOMIC_REQUESTS": False}
    options = config["OPTIONS"] = dict(config.get("OPTIONS", {}))
    if pool and config["ENGINE"] == "django.db.backends.postgresql":
        options["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=1),
            "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=4),
            "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
        }
        config["CONN_MAX_AGE"] = 0
    else:
        config.setdefault("CONN_MAX_AGE", 60 if not DEBUG else 0)
    # Behind PgBouncer in transaction mode a cursor kept across transactions (what
    # .iterator() opens outside one, e.g. a streamed CSV) would meet another server connection.
    config["DISABLE_SERVER_SIDE_CURSORS"] = env.bool(
        "DATABASE_DISABLE_SERVER_SIDE_CURSORS", default=False
    )
    # A kept connection that died (a database restart) is replaced before a request uses it;
    # with the pool, the pool checks a connection before lending it.
    config["CONN_HEALTH_CHECKS"] = True
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # The demo server handles one request at a time per write; wait instead of failing.
        options["timeout"] = 20
    return config


DATABASES = {
    # A migration is one connection for a few seconds: no pool.
    "default": database(env.db("DATABASE_OWNER_URL"), pool=False)
    if RUNS_AS_OWNER
    else database(APP_DATABASE)
}

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
# Links in emails need the public address of the site.
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Trunkpool <no-reply@trunkpool.invalid>")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    # Before django_tasks_db: jobs' `db_worker` (the library's, holding a lease on the job it
    # runs: jobs/leases.py) replaces the library's command of that name.
    "jobs",
    "django_tasks",
    "django_tasks_db",
    "crispy_forms",
    "crispy_bootstrap5",
    "axes",
    "accounts",
    "inventory",
    "events",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",
    "bench",
]

MIDDLEWARE = [
    # The headers every answer carries come first: an error raised by a later middleware (a bad
    # Host in CommonMiddleware) becomes a response that only the middlewares before it see.
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "core.web.SelectionLimitMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.navigation",
                "accounts.context_processors.notifications",
            ],
        },
    },
]

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # Refuses a sign-in while its username + client address is locked out, before any check.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Bootstrap comes from the installed xstatic-bootstrap wheel, never from files in this repo.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("bootstrap", xstatic.pkg.bootstrap.BASE_DIR),
]
# The camera scanner's decoder, zxing-wasm, from package-lock.json (`npm ci`, run by the setup):
# its reader script and the WebAssembly it loads, served from this site, never a CDN. Without
# node_modules the scan boxes still take typed and pasted codes, and the scanner says so.
ZXING_DIST = BASE_DIR / "node_modules" / "zxing-wasm" / "dist"
SCANNER_INSTALLED = (ZXING_DIST / "reader" / "zxing_reader.wasm").exists()
if SCANNER_INSTALLED:
    STATICFILES_DIRS += [
        ("zxing/reader", ZXING_DIST / "iife" / "reader"),
        ("zxing/wasm", ZXING_DIST / "reader"),
    ]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed names need `collectstatic`, which a deployment runs; DEBUG and tests use the
        # plain storage so they work straight from the finders.
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env.bool("STATIC_MANIFEST", default=not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Uploaded files; a deployment points this at shared storage (README, "Production").
MEDIA_ROOT = env("MEDIA_ROOT", default=str(BASE_DIR / "media"))

# Jobs are rows in the app's own database (SQLite for `make run`, PostgreSQL in production), so
# a job enqueued inside a service's transaction commits with it or not at all. Workers run
# `manage.py db_worker`; core/tasks.py adds retries with back-off, jobs/leases.py leases.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
TASK_MAX_ATTEMPTS = env.int("TASK_MAX_ATTEMPTS", default=5)
TASK_RETRY_BACKOFF = env.int("TASK_RETRY_BACKOFF", default=30)  # seconds, doubled each retry
TASK_RETRY_BACKOFF_MAX = env.int("TASK_RETRY_BACKOFF_MAX", default=3600)
# A worker renews a lease on the job it runs every TASK_LEASE/3 seconds; a job whose lease ran
# out (its worker died) goes back to the queue at the next sweep, which every worker makes every
# TASK_LEASE_SWEEP seconds (jobs/leases.py), so it is picked up again within the two (3 minutes).
TASK_LEASE = env.float("TASK_LEASE", default=120)
TASK_LEASE_SWEEP = env.float("TASK_LEASE_SWEEP", default=60)
# The sent-log (accounts.SentEmail) is kept this many days; it must outlast the email task's
# longest retry window (core.tasks.longest_retry_window) plus a day, or a retried email would go
# out twice. A system check refuses a shorter value.
SENT_EMAIL_DAYS = env.int("SENT_EMAIL_DAYS", default=7)

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# HTTPS settings are switched on by the environment of a real deployment (README, "Production");
# behind a TLS-terminating load balancer the proxy header tells Django the request was secure.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env("SECURE_COOKIES")
SECURE_SSL_REDIRECT = env("SECURE_SSL_REDIRECT")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env("SECURE_HSTS_SECONDS")
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0

# Login throttling (django-axes): ten wrong passwords for one username from one client address
# lock that pair for 15 minutes, so a stranger elsewhere cannot lock a rep out before a case.
AXES_FAILURE_LIMIT = 10
AXES_COOLOFF_TIME = datetime.timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The client address (core.clientip), for sign-in throttling and every limit by address: the
# socket's address, unless settings name the proxies in front. TRUSTED_PROXY_COUNT=N takes the
# Nth X-Forwarded-For entry from the right (one load balancer: 1); TRUSTED_PROXIES lists the
# proxies' addresses or networks instead. Reached directly, a client-sent header changes nothing.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
AXES_CLIENT_IP_CALLABLE = "core.clientip.client_address"
# Password-reset requests per client address and per account (its email), as `count/s|m|h|d`,
# counted in the database every app server shares; past either, no email is sent.
PASSWORD_RESET_RATES = {
    "address": env("PASSWORD_RESET_LIMIT_ADDRESS", default="3/h"),
    "account": env("PASSWORD_RESET_LIMIT_ACCOUNT", default="3/h"),
}

# Content-Security-Policy (django-csp): only this site's own files run or style a page; no
# inline script or style anywhere. data: images are Bootstrap's CSS icons and the empty favicon.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# How many units one request may select (transfer, mark used, release hold), and what Django
# accepts: the selection's ids plus headroom for the form's other fields, so a selection over
# the cap reaches the app's own message (core.web) rather than a bare 400.
MAX_SELECTION = 1000
DATA_UPLOAD_MAX_NUMBER_FIELDS = MAX_SELECTION + 100
# Receiving: the units one lot line may create, and one CSV import in all (rows x quantity).
RECEIVE_MAX_QUANTITY = env.int("RECEIVE_MAX_QUANTITY", default=1000)
IMPORT_MAX_UNITS = env.int("IMPORT_MAX_UNITS", default=5000)
# Most units one offline snapshot of an event carries to a phone (more: the snapshot says it
# was cut, and the phone says so), so a distributor's whole pool never fills a phone's storage.
OFFLINE_MAX_UNITS = env.int("OFFLINE_MAX_UNITS", default=2000)

# The REST API (/api/v1/, the api app). Tokens first, so an anonymous call is a 401 that names
# the Bearer scheme; the app's own JavaScript keeps its session (with CSRF). JSON only: DRF's
# browsable API would need inline script. Errors take one shape (api.errors).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.TokenScopeAllows"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.ScopedThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": None,
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "api.schema.ApiAutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# Calls per token and per user (all their tokens and their session), in a window of a second
# (s), minute (m), hour (h) or day (d); counted in the database every app server shares.
API_THROTTLE_RATES = {
    "token": env("API_THROTTLE_TOKEN", default="600/m"),
    "user": env("API_THROTTLE_USER", default="1200/m"),
}
# Every API token expires; one lives at most this many days (api.services.tokens).
API_TOKEN_MAX_DAYS = env.int("API_TOKEN_MAX_DAYS", default=365)
# An Idempotency-Key's first answer is kept this many days (retries come within minutes).
API_IDEMPOTENCY_DAYS = env.int("API_IDEMPOTENCY_DAYS", default=7)
# Webhook events and their delivery log are kept this many days once every delivery finished.
WEBHOOK_LOG_DAYS = env.int("WEBHOOK_LOG_DAYS", default=30)
SPECTACULAR_SETTINGS = {
    "TITLE": "Trunkpool API",
    "DESCRIPTION": "Units, custody, transfers, events and recalls, under the same rules as the "
    "web pages. Authenticate with `Authorization: Bearer <token>`.",
    "VERSION": "1",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Swagger UI from drf-spectacular-sidecar, served by this site under the strict CSP.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One component name per choice set: several models call theirs Kind or Status, which
    # drf-spectacular would otherwise name after the field, with a warning.
    "ENUM_NAME_OVERRIDES": {
        "UserRoleEnum": "accounts.models.Role",
        "NotificationKindEnum": "accounts.models.NotificationKind",
        "GroupChangeActionEnum": "accounts.models.GroupChange.Action",
        "UnitStateEnum": "inventory.models.units.UnitState",
        "LedgerEntryKindEnum": "inventory.models.units.EntryKind",
        "IdentifiedByEnum": "inventory.identification.Identified",
        "ProductTrackingEnum": "inventory.models.catalog.Product.Tracking",
        "LocationKindEnum": "inventory.models.catalog.Location.Kind",
        "FacilityKindEnum": "inventory.models.catalog.Facility.Kind",
        "TransferStatusEnum": "inventory.models.transfers.Transfer.Status",
        "RecallClassEnum": "inventory.models.recalls.Recall.RecallClass",
        "RecallStatusEnum": "inventory.models.recalls.Recall.Status",
        "EventTypeEnum": "events.models.EventType",
        "EventStatusEnum": "events.models.EventStatus",
        "JobStatusEnum": "jobs.models.Job.Status",
        "TokenScopeEnum": "api.models.tokens.TokenScope",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}

# Background work (jobs.Job): an import over IMPORT_MAX_UNITS runs as a job, up to
# IMPORT_BACKGROUND_MAX_UNITS units and IMPORT_BACKGROUND_MAX_BYTES per file; an inventory
# export over EXPORT_BACKGROUND_ROWS rows runs as a job, with no row cap. Files and results are
# JobChunk rows in the database (never a server's disk), pruned after JOB_RESULT_DAYS.
IMPORT_BACKGROUND_MAX_UNITS = env.int("IMPORT_BACKGROUND_MAX_UNITS", default=50_000)
IMPORT_BACKGROUND_MAX_BYTES = env.int("IMPORT_BACKGROUND_MAX_BYTES", default=20 * 1024 * 1024)
EXPORT_BACKGROUND_ROWS = env.int("EXPORT_BACKGROUND_ROWS", default=10_000)
JOB_CHUNK_BYTES = env.int("JOB_CHUNK_BYTES", default=1024 * 1024)
JOB_RESULT_DAYS = env.int("JOB_RESULT_DAYS", default=3)

# Webhooks (api.webhooks): events are delivered with retries after each failed attempt, waiting
# WEBHOOK_RETRY_SCHEDULE seconds in turn (the default spans 27.6 hours: 5 s, 5 min, 30 min,
# 2 h, 5 h, 10 h, 10 h), then given up. A subscription whose deliveries give up
# WEBHOOK_DISABLE_AFTER times in a row is switched off and the admins told. Endpoint secrets
# are encrypted with a key derived from WEBHOOK_SECRET_KEY (SECRET_KEY unless set; keys moved
# to WEBHOOK_SECRET_KEY_FALLBACKS still decrypt). Deliveries never go to private, loopback or
# link-local addresses unless WEBHOOK_ALLOW_PRIVATE; WEBHOOK_CA_FILE replaces the system's
# certificate authorities (a private CA, or a test's own).
WEBHOOK_RETRY_SCHEDULE = env.list(
    "WEBHOOK_RETRY_SCHEDULE", cast=int, default=[5, 300, 1800, 7200, 18000, 36000, 36000]
)
WEBHOOK_DISABLE_AFTER = env.int("WEBHOOK_DISABLE_AFTER", default=5)
WEBHOOK_SECRET_KEY = env("WEBHOOK_SECRET_KEY", default=SECRET_KEY)
WEBHOOK_SECRET_KEY_FALLBACKS = env.list("WEBHOOK_SECRET_KEY_FALLBACKS", default=[])
# After a rotation, deliveries are signed with the old secret too for this long.
WEBHOOK_ROTATION_OVERLAP = env.int("WEBHOOK_ROTATION_OVERLAP", default=24 * 3600)
WEBHOOK_ALLOW_PRIVATE = env.bool("WEBHOOK_ALLOW_PRIVATE", default=False)
WEBHOOK_CA_FILE = env("WEBHOOK_CA_FILE", default="")
WEBHOOK_CONNECT_TIMEOUT = env.float("WEBHOOK_CONNECT_TIMEOUT", default=5.0)
WEBHOOK_READ_TIMEOUT = env.float("WEBHOOK_READ_TIMEOUT", default=10.0)
# Characters of a receiver's answer kept in the delivery log.
WEBHOOK_RESPONSE_KEEP = 1000
WEBHOOK_MAX_SUBSCRIPTIONS = env.int("WEBHOOK_MAX_SUBSCRIPTIONS", default=20)

# A streaming read replica (README, "Production"): with DATABASE_REPLICA_URL set, reads of a web
# request go to it, except inside a transaction, for authentication and permission data, and for
# READ_PIN_SECONDS after the user wrote (accounts.replica). Its TEST setting mirrors default, so
# the test suite runs as without it. Without the URL nothing changes: no router, no extra query.
READ_PIN_SECONDS = env.int("READ_PIN_SECONDS", default=5)
# Always read from the primary (app labels, or app_label.Model); writes to these never pin.
REPLICA_PRIMARY_MODELS = [
    "accounts.User",
    "accounts.DistributorGroup",
    "accounts.GroupMembership",
    "accounts.ReadPin",
    "auth",
    "sessions",
    "axes",
    "api.ApiToken",
    "accounts.RateCounter",
    "django_tasks_database",
]
if env("DATABASE_REPLICA_URL", default=""):
    # The same connection rules as the primary, the pool included when it is on.
    DATABASES["replica"] = database(env.db("DATABASE_REPLICA_URL"))
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["accounts.replica.ReplicaRouter"]
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
        "accounts.replica.ReadPinMiddleware",
    )
