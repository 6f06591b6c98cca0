"""Settings for the adverse-event tracker.

Every setting that differs between a laptop and production reads an environment variable
(the README's Configuration section lists them); the defaults run the product on SQLite with
Celery tasks executed in-process.
"""

import os
from pathlib import Path
from typing import Any

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"


def env_bool(name: str, default: bool) -> bool:
    value = os.getenv(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DJANGO_DEBUG", True)

SECRET_KEY = os.getenv("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    SECRET_KEY = "development-only-key-not-for-production-use-0123456789abcdef"  # noqa: S105

_hosts = os.getenv("DJANGO_ALLOWED_HOSTS", "")
ALLOWED_HOSTS = [h.strip() for h in _hosts.split(",") if h.strip()]
if not ALLOWED_HOSTS and DEBUG:
    ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", "testserver"]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.getenv("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "core",
    "accounts",
    "audit",
    "reference",
    "reports",
    "surveillance",
    "spontaneous",
    "e2b",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before anything that reads the session or the database with a value of the address.
    "core.middleware.RefuseNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "accounts.middleware.LoginRequiredMiddleware",
    "core.middleware.SecurityHeadersMiddleware",
    # Inside CommonMiddleware, which still redirects /api/v1/reports to /api/v1/reports/.
    "core.middleware.ApiErrorAnswersMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into a 429.
    "axes.middleware.AxesMiddleware",
]

# Repeated failed sign-ins (web form and token endpoint) lock the username from that
# address for a while.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.getenv("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.getenv("LOGIN_COOLOFF_HOURS", "0.25"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# The lock-out page: the product's look, how long the lock lasts, and the way back to sign in.
AXES_LOCKOUT_CALLABLE = "core.views.locked_out"
# API tokens (create_account, POST /api/v1/auth/token/) expire this many days after they were
# issued; 0 means never. create_account --rotate-token and DELETE /api/v1/auth/token/ end one
# sooner.
API_TOKEN_TTL_DAYS = int(os.getenv("API_TOKEN_TTL_DAYS", "90"))

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
            ],
        },
    },
]

# Database: SQLite under var/ unless DATABASE_URL says otherwise.
VAR_DIR.mkdir(exist_ok=True)
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'pvtracker.sqlite3'}",
        conn_max_age=int(os.getenv("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Concurrent writers (web and an in-process task) wait instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A database that stops answering must not hold a request until gunicorn kills its
    # worker (30 s) with no answer: each wait is bounded below that, and the answer is the
    # 503 of core.views.server_error. Options given in DATABASE_URL (?connect_timeout=...) win.
    #  - connecting: DATABASE_CONNECT_TIMEOUT;
    #  - a statement the server works on (or waits on a lock for): DATABASE_STATEMENT_TIMEOUT,
    #    enforced by the server (0: none). Detection sets its own, longer limit
    #    (DETECTION_STATEMENT_TIMEOUT, see core.db.statement_timeout);
    #  - a server or network that went away under an open connection: TCP keepalives on idle
    #    connections, and a limit on data left unacknowledged, DATABASE_TCP_TIMEOUT.
    _tcp_timeout = int(os.getenv("DATABASE_TCP_TIMEOUT", "20"))
    _statement_ms = int(float(os.getenv("DATABASE_STATEMENT_TIMEOUT", "15")) * 1000)
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options.setdefault("connect_timeout", int(os.getenv("DATABASE_CONNECT_TIMEOUT", "5")))
    _options.setdefault("options", f"-c statement_timeout={_statement_ms}")
    if _tcp_timeout > 0:
        _options.setdefault("keepalives", 1)
        _options.setdefault("keepalives_idle", max(1, _tcp_timeout // 2))
        _options.setdefault("keepalives_interval", max(1, _tcp_timeout // 4))
        _options.setdefault("keepalives_count", 2)
        _options.setdefault("tcp_user_timeout", _tcp_timeout * 1000)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.getenv("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.getenv("DJANGO_STATIC_ROOT", str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Cache and locks: Redis when REDIS_URL is set, local memory otherwise.
REDIS_URL = os.getenv("REDIS_URL", "")
CACHES: dict[str, dict[str, Any]] = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Celery: without a broker every task runs in-process, synchronously.
CELERY_BROKER_URL = os.getenv("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_TASK_ALWAYS_EAGER:
    # Nothing is sent anywhere; an in-memory transport keeps Celery from looking for a broker.
    CELERY_BROKER_URL = "memory://"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = os.getenv("CELERY_RESULT_BACKEND") or None
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = int(os.getenv("CELERY_TASK_SOFT_TIME_LIMIT", "600"))
CELERY_TASK_TIME_LIMIT = int(os.getenv("CELERY_TASK_TIME_LIMIT", "900"))
# Unacknowledged tasks come back after this long; keep it well above the time limit.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Periodic jobs: the nightly detection over every drug, and the sweep that fails the runs
# of workers that died.
CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "detection-nightly": {
        "task": "surveillance.tasks.detection_scheduled",
        "schedule": crontab(
            hour=os.getenv("DETECTION_NIGHTLY_HOUR", "2"),
            minute=os.getenv("DETECTION_NIGHTLY_MINUTE", "30"),
        ),
    },
    "detection-sweep": {"task": "surveillance.tasks.detection_sweep", "schedule": 300.0},
    # Hands out the runs and parts that are due and fails the parts of dead workers. No task
    # is sent with a countdown: a worker holding one when Redis restarts dies and loses it.
    "detection-dispatch": {
        "task": "surveillance.tasks.detection_dispatch",
        "schedule": float(os.getenv("DETECTION_DISPATCH_SECONDS", "10")),
    },
}

# Exposures registered at once, by a CSV upload on the exposures page or a list posted to
# /api/v1/exposures/: a bigger batch is refused before any row is read, so a request never
# outlives the web server's timeout. Split larger cohorts into several files or requests.
EXPOSURES_MAX_ROWS = int(os.getenv("EXPOSURES_MAX_ROWS", "5000"))

# ICH E2B(R3) exchange (the e2b package's docstring says what each one is for).
E2B_SENDER_ID = os.getenv("E2B_SENDER_ID", "AETRACKER")
E2B_RECEIVER_ID = os.getenv("E2B_RECEIVER_ID", "ZZFDA")
E2B_COUNTRY = os.getenv("E2B_COUNTRY", "US")
E2B_SCHEMA_DIR = os.getenv("E2B_SCHEMA_DIR", "")
E2B_MAX_BYTES = int(os.getenv("E2B_MAX_BYTES", str(10 * 1024 * 1024)))

# Signal detection (docs/pharmacovigilance.md, "Detection against the label").
DETECTION_MIN_CASES = int(os.getenv("DETECTION_MIN_CASES", "3"))
DETECTION_ALPHA = float(os.getenv("DETECTION_ALPHA", "0.05"))
# New reports queue one run per drug, started after this many seconds.
DETECTION_ON_NEW_REPORTS = env_bool("DETECTION_ON_NEW_REPORTS", True)
DETECTION_DEBOUNCE_SECONDS = int(os.getenv("DETECTION_DEBOUNCE_SECONDS", "60"))
# Without a broker, a run waits this long for another run to free its drug (workers retry).
DETECTION_LOCK_WAIT_SECONDS = float(os.getenv("DETECTION_LOCK_WAIT_SECONDS", "60"))
# A worker holds a drug for this long and renews it every third of it while it works: a
# worker that dies (kill -9, OOM) frees its drug, and its part is failed, this long after.
DETECTION_LEASE_SECONDS = int(os.getenv("DETECTION_LEASE_SECONDS", "30"))
# Detection's statements may take this long (PostgreSQL; seconds, 0: no limit), in place of
# DATABASE_STATEMENT_TIMEOUT, which is sized for web requests.
DETECTION_STATEMENT_TIMEOUT = float(
    os.getenv("DETECTION_STATEMENT_TIMEOUT", str(CELERY_TASK_SOFT_TIME_LIMIT))
)
# Disproportionality over the spontaneous reports (docs/pharmacovigilance.md): the rule that makes a
# drug-event pair a signal: mgps (EB05 >= DISPROPORTIONALITY_EB05), prr (Evans), ror or ic.
DISPROPORTIONALITY_RULE = os.getenv("DISPROPORTIONALITY_RULE", "mgps")
if DISPROPORTIONALITY_RULE not in ("mgps", "prr", "ror", "ic"):
    raise ImproperlyConfigured("DISPROPORTIONALITY_RULE must be one of mgps, prr, ror, ic")
DISPROPORTIONALITY_EB05 = float(os.getenv("DISPROPORTIONALITY_EB05", "2"))
# The MGPS prior is fitted to the pairs with at least this many reports (the truncation N*).
DISPROPORTIONALITY_MIN_COUNT = int(os.getenv("DISPROPORTIONALITY_MIN_COUNT", "1"))
# MGPS expected counts summed over strata of the reports: "" (none) or "sex".
DISPROPORTIONALITY_STRATIFY = os.getenv("DISPROPORTIONALITY_STRATIFY", "")
if DISPROPORTIONALITY_STRATIFY not in ("", "sex"):
    raise ImproperlyConfigured("DISPROPORTIONALITY_STRATIFY must be empty or sex")
# FAERS quarters uploaded on the spontaneous sources page wait here until their import ends
# (web and worker must share the folder); each file may be this large.
SPONTANEOUS_UPLOAD_DIR = Path(os.getenv("SPONTANEOUS_UPLOAD_DIR", str(VAR_DIR / "uploads")))
FAERS_UPLOAD_MAX_MB = int(os.getenv("FAERS_UPLOAD_MAX_MB", "200"))
# A FAERS import started from the page may run this long (seconds) before the worker stops it;
# below the broker's visibility timeout, so the task is never handed out twice.
FAERS_IMPORT_TIME_LIMIT = int(os.getenv("FAERS_IMPORT_TIME_LIMIT", "3000"))
if not 60 < FAERS_IMPORT_TIME_LIMIT < CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]:
    raise ImproperlyConfigured(
        "FAERS_IMPORT_TIME_LIMIT must be between 60 and the broker's visibility timeout (3600)"
    )

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.SiteTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # The API speaks JSON (the token endpoint also reads forms, for scripts).
    "DEFAULT_PARSER_CLASSES": ["core.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "core.openapi.AutoSchema",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "core.negotiation.FormatOptional",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Adverse-event tracker API",
    "DESCRIPTION": (
        "Report adverse drug reactions, read drug labels and the terminology, "
        "and review safety signals."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI served from our own static files: no resource from the internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "RunStatusEnum": "surveillance.choices.RunStatus",
        "ReviewStatusEnum": "surveillance.choices.ReviewStatus",
        "RunTriggerEnum": "surveillance.choices.Trigger",
    },
}

# Production hardening: on whenever DEBUG is off.
# Trust X-Forwarded-Proto only behind a proxy that sets it (and strips it from
# clients); otherwise any client could claim its plain-HTTP request was HTTPS.
if env_bool("DJANGO_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Turn off only to try the stack over plain HTTP on localhost.
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "core.views.csrf_failure"
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = 0 if DEBUG else int(os.getenv("DJANGO_HSTS_SECONDS", "31536000"))
# Preloading HSTS for the whole domain (its subdomains included) is hard to undo
# and affects every other site on the domain: only on request.
SECURE_HSTS_PRELOAD = SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG and env_bool(
    "DJANGO_HSTS_PRELOAD", False
)
# Without that opt-in, check --deploy warns about both (W005 include-subdomains,
# W021 preload); leaving them off is the deliberate default, so those two warnings
# are silenced, and only then.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W005", "security.W021"]
# The covering index of the reactions is a PostgreSQL optimisation; SQLite keeps its key part.
SILENCED_SYSTEM_CHECKS.append("models.W040")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_AGE = 60 * 60 * 12

EMAIL_BACKEND = os.getenv("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.getenv("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.getenv("DJANGO_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.getenv("DJANGO_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.getenv("DJANGO_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("DJANGO_EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.getenv("DJANGO_DEFAULT_FROM_EMAIL", "ae-tracker@localhost")

# The MedDRA version reactions are coded in, for E2B reports (E.i.2.1a) when no MedDRA
# release has been imported (import_meddra): the version of the codes the terms carry.
E2B_MEDDRA_VERSION = os.getenv("E2B_MEDDRA_VERSION", "").strip()

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.getenv("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        # One handler for Django's own messages too, so nothing is printed twice.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
    },
}
