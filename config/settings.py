"""PrimeTime settings: one module, driven by environment variables.

With nothing set you get the embedded defaults (SQLite, in-memory channel layer,
eager Celery, local-memory cache, mesh media). DATABASE_URL and REDIS_URL switch to
PostgreSQL, channels_redis, Celery on Redis and a Redis cache. Every variable is
read here and nowhere else; a bad value stops start-up with a clear message.
"""

import os
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from redis.backoff import NoBackoff
from redis.retry import Retry

from core.origins import ORIGIN_PATTERN
from core.pgconnection import OutageNoticingConnection

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}"
    )


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer; got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}; got {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", True)

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-0123456789abcdefghij"  # noqa: S105

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "broadcasts",
    "participation",
    "leads",
    "backoffice",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Outside everything that answers with a page of its own (the 503 page, the lockout
    # page), so that those carry the policy too; static files (WhiteNoise) need none.
    "csp.middleware.CSPMiddleware",
    "config.middleware.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = None
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

# --- Database -------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
# PostgreSQL connections come from a pool in each server process (psycopg's, through
# Django). Under ASGI every page request runs in a thread of its own, so connections
# kept per thread (CONN_MAX_AGE) grow with the traffic until PostgreSQL refuses more;
# a pool bounds them at PRIMETIME_DB_POOL_SIZE per process, and a request that cannot
# get one within PRIMETIME_DB_POOL_TIMEOUT seconds is answered 503 (config/middleware.py).
DB_POOL_SIZE = env_int("PRIMETIME_DB_POOL_SIZE", 8, minimum=0)
DB_POOL_TIMEOUT = env_int("PRIMETIME_DB_POOL_TIMEOUT", 10, minimum=1)
# Page requests of one process inside Django at once; the others wait their turn in the
# event loop rather than each in a thread of its own (config/concurrency.py). 0: no limit.
HTTP_CONCURRENCY = env_int("PRIMETIME_HTTP_CONCURRENCY", 16, minimum=0)
# Without a pool (PRIMETIME_DB_POOL_SIZE=0, e.g. behind PgBouncer): seconds a
# connection is kept for reuse by its thread.
DB_CONN_MAX_AGE = env_int("PRIMETIME_DB_CONN_MAX_AGE", 0, minimum=0)
# Seconds a change waits for a row another request has locked (a broadcast's stage, a
# question, an export) before it gives up with a conflict, on PostgreSQL; core/locks.py.
LOCK_TIMEOUT_SECONDS = env_int("PRIMETIME_LOCK_TIMEOUT", 5, minimum=1)
if DATABASE_URL:
    try:
        DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from None
    _db = DATABASES["default"]
    if _db["ENGINE"] == "django.db.backends.postgresql" and DB_POOL_SIZE:
        if DB_CONN_MAX_AGE:
            raise ImproperlyConfigured(
                "PRIMETIME_DB_CONN_MAX_AGE keeps connections per thread, which the pool does"
                " instead: unset it, or set PRIMETIME_DB_POOL_SIZE=0 to go without a pool"
            )
        _db["CONN_MAX_AGE"] = 0  # a connection goes back to the pool after each use
        _db.setdefault("OPTIONS", {})["pool"] = {
            "min_size": min(2, DB_POOL_SIZE),
            "max_size": DB_POOL_SIZE,
            "timeout": DB_POOL_TIMEOUT,
            # A failed connection attempt marks PostgreSQL out of reach at once, so that
            # pages and live commands say so instead of queueing (core/outage.py).
            "connection_class": OutageNoticingConnection,
        }
        # The pool checks a connection before lending it (one empty query), so that
        # after a PostgreSQL restart no request gets a dead one.
        _db["CONN_HEALTH_CHECKS"] = True
    else:
        _db["CONN_MAX_AGE"] = DB_CONN_MAX_AGE
    if _db["ENGINE"] == "django.db.backends.postgresql":
        # How an operator tells our sessions apart in pg_stat_activity.
        _db.setdefault("OPTIONS", {}).setdefault("application_name", "primetime")
else:
    DATABASES = {
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}
    }

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several threads (and, in tests, server processes) write to one file: WAL and
    # IMMEDIATE transactions turn "database is locked" into a short wait.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # A file, not memory, so that e2e tests can run a real server process against it.
    DATABASES["default"]["TEST"] = {
        "NAME": env_str("PRIMETIME_TEST_DB", str(BASE_DIR / "var" / "test-db.sqlite3"))
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, cache, Celery, live event bus -------------------
REDIS_URL = env_str("REDIS_URL")

# Which channels_redis layer carries private messages: `pubsub` (the default; one
# subscription per process) or `core` (lists and sorted sets). bench/live_load.py compares them.
CHANNEL_LAYER_BACKENDS = {
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
    "core": "channels_redis.core.RedisChannelLayer",
}
CHANNEL_LAYER = env_str("PRIMETIME_CHANNEL_LAYER", "pubsub")
if CHANNEL_LAYER not in CHANNEL_LAYER_BACKENDS:
    raise ImproperlyConfigured("PRIMETIME_CHANNEL_LAYER must be pubsub or core")

# The core layer waits for messages with a 5 s blocking pop; redis-py 8 reads every
# reply within 5 s by default (so the wait itself timed out) and opens at most 100
# connections, refusing the 101st rather than waiting (a crowd joining adds each page to
# its groups at once). Both are raised for it; the pub/sub layer needs neither.
CORE_LAYER_HOST = {"socket_timeout": 30, "max_connections": 4000}

# A Redis that is down is told at once: redis-py 8 retries a failed command ten times
# over about five seconds by default, and every live page of a process waits behind
# the one database thread that waits for it (its commands queue up, and the backlog
# outlives the outage). One retry, on a fresh connection, rides out a dropped one.
REDIS_CLIENT_OPTIONS = {"socket_connect_timeout": 1, "retry": Retry(NoBackoff(), retries=1)}

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": CHANNEL_LAYER_BACKENDS[CHANNEL_LAYER],
            "CONFIG": {
                "hosts": [
                    {"address": REDIS_URL, **CORE_LAYER_HOST}
                    if CHANNEL_LAYER == "core"
                    else REDIS_URL
                ],
                "prefix": "primetime",
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "primetime",
            "OPTIONS": REDIS_CLIENT_OPTIONS,
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A message taken by a worker that is then killed comes back after this long (Redis
# keeps it unacknowledged): longer than the longest export, so that a run under way is
# never handed to a second worker. Stalled exports do not wait for it: the sweep below
# queues them again as soon as their run stops showing progress.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Live events: how many recent public events each broadcast keeps for replay on
# reconnect, and how often coalesced counters (audience, likes, rating) are flushed.
LIVE_EVENT_LOG_SIZE = env_int("PRIMETIME_LIVE_EVENT_LOG_SIZE", 500, minimum=10)
LIVE_COALESCE_SECONDS = 0.5
LIVE_AUDIENCE_SAMPLE_SIZE = 24
# Per connection: a viewer may send this many commands per second, in bursts of
# LIVE_COMMAND_BURST; beyond that they get error/rate_limited.
LIVE_COMMAND_RATE = 5
LIVE_COMMAND_BURST = 20
# A requester or speaker with no page open for this long has left: their request
# expires, or their call ends. Shorter than that is a reload or a network blip.
SPEAK_REQUEST_GRACE_SECONDS = env_int("PRIMETIME_SPEAK_GRACE_SECONDS", 20, minimum=1)
SPEAK_REQUEST_SWEEP_SECONDS = 5
# A live broadcast whose hosts have all been gone this long (console closed, network
# lost) pauses by itself; viewers are told "The host is reconnecting…" meanwhile.
HOST_AWAY_PAUSE_SECONDS = env_int("PRIMETIME_HOST_AWAY_PAUSE_SECONDS", 60, minimum=1)
HOST_AWAY_SWEEP_SECONDS = min(5, HOST_AWAY_PAUSE_SECONDS)
# A server process renews its presence lease every third of this; one silent for this
# long (killed) has its pages counted out of the audience by the others.
PRESENCE_LEASE_SECONDS = env_int("PRIMETIME_PRESENCE_LEASE_SECONDS", 15, minimum=3)
# Viewers of every running broadcast are counted this often, for the analytics chart.
VIEWER_SAMPLE_SECONDS = env_int("PRIMETIME_VIEWER_SAMPLE_SECONDS", 10, minimum=1)
# Per attendee (all their pages, every process): (actions allowed, per seconds).
ATTENDEE_RATE_LIMITS = {
    "question": (env_int("PRIMETIME_QUESTIONS_PER_MINUTE", 5, minimum=1), 60),
    "vote": (30, 60),
    "like": (10, 60),
    "rate": (20, 60),
}
# WebRTC signalling is chattier: a host answers every viewer's offer and ICE candidates.
LIVE_SIGNAL_RATE = 100
LIVE_SIGNAL_BURST = 400

# --- Media plane ------------------------------------------------------------
MEDIA_BACKEND = env_str("MEDIA_BACKEND", "mesh")
if MEDIA_BACKEND not in {"mesh", "janus"}:
    raise ImproperlyConfigured(f"MEDIA_BACKEND must be 'mesh' or 'janus'; got {MEDIA_BACKEND!r}")
# A mesh session: how many viewers the host's browser sends video to, one upload each.
MESH_MAX_VIEWERS = env_int("PRIMETIME_MESH_MAX_VIEWERS", 25, minimum=1)
# How long a viewer waits for a sender's offer before asking again (a few tries, then
# the viewer is told video cannot be reached).
MEDIA_OFFER_TIMEOUT_MS = env_int("PRIMETIME_MEDIA_OFFER_TIMEOUT_MS", 8000, minimum=500)
# The Janus SFU (MEDIA_BACKEND=janus). Its APIs stay private (loopback or a private
# network): only the server processes talk to them; browsers reach Janus for media only.
JANUS_URL = env_str("JANUS_URL", "ws://127.0.0.1:8188")
JANUS_ADMIN_URL = env_str("JANUS_ADMIN_URL", "ws://127.0.0.1:7188")
for _name, _url in (("JANUS_URL", JANUS_URL), ("JANUS_ADMIN_URL", JANUS_ADMIN_URL)):
    if not re.fullmatch(r"wss?://[^/\s]+(/\S*)?", _url):
        raise ImproperlyConfigured(f"{_name} must be a ws:// or wss:// URL; got {_url!r}")
# The secret Janus's APIs require (our rendered config and our client both use it).
# Unset: derived from DJANGO_SECRET_KEY, which is enough when `manage.py janus` runs
# Janus with that config; set it when Janus is configured by other means.
JANUS_SECRET = env_str("JANUS_SECRET")
# The address Janus gathers its ICE candidates on (the box's own address; tests:
# 127.0.0.2 on a veth, as Janus skips loopback interfaces). Empty: every interface.
JANUS_MEDIA_IP = env_str("JANUS_MEDIA_IP")
# Behind a 1:1 NAT (a cloud VM): the public address that maps to JANUS_MEDIA_IP.
JANUS_PUBLIC_IP = env_str("JANUS_PUBLIC_IP")
JANUS_RTP_PORTS = env_str("JANUS_RTP_PORTS", "20000-20999")
_ports = re.fullmatch(r"(\d+)-(\d+)", JANUS_RTP_PORTS)
if not _ports or not 1024 <= int(_ports[1]) < int(_ports[2]) <= 65535:
    raise ImproperlyConfigured(
        f"JANUS_RTP_PORTS must be a range like 20000-20999 above 1023; got {JANUS_RTP_PORTS!r}"
    )
# Janus's media threads; one per core cut its CPU per relayed packet 2-4x here.
JANUS_EVENT_LOOPS = env_int("JANUS_EVENT_LOOPS", os.cpu_count() or 1, minimum=1)
JANUS_BINARY = env_str("JANUS_BINARY", "janus")
# Where `manage.py janus` writes the configuration it runs Janus with.
JANUS_CONFIG_DIR = Path(env_str("JANUS_CONFIG_DIR", str(BASE_DIR / "var" / "janus")))
# Comma-separated STUN/TURN URLs. Pages get TURN credentials of their own, signed with
# coturn's static-auth-secret (its `use-auth-secret` REST scheme) and valid for TTL.
ICE_SERVER_URLS = env_list("PRIMETIME_ICE_URLS", [])
for _url in ICE_SERVER_URLS:
    if not _url.startswith(("stun:", "stuns:", "turn:", "turns:")):
        raise ImproperlyConfigured(f"PRIMETIME_ICE_URLS: {_url!r} is not a stun: or turn: URL")
TURN_SECRET = env_str("PRIMETIME_TURN_SECRET")
# Long enough for the longest session: coturn checks the expiry on every refresh.
TURN_TTL_SECONDS = env_int("PRIMETIME_TURN_TTL_SECONDS", 24 * 3600, minimum=60)
for _name in ("PRIMETIME_ICE_USERNAME", "PRIMETIME_ICE_CREDENTIAL"):
    if os.environ.get(_name):
        raise ImproperlyConfigured(
            f"{_name} is no longer read: one password in every page is gone. Set "
            "PRIMETIME_TURN_SECRET to coturn's static-auth-secret instead."
        )
_turn_urls = [url for url in ICE_SERVER_URLS if url.startswith(("turn:", "turns:"))]
if _turn_urls and not TURN_SECRET:
    raise ImproperlyConfigured(
        "PRIMETIME_ICE_URLS names a TURN server but PRIMETIME_TURN_SECRET is empty: set it "
        "to the TURN server's static-auth-secret (coturn: use-auth-secret)."
    )
# "relay" sends all media through TURN: nobody learns another person's address.
ICE_TRANSPORT_POLICY = env_str("PRIMETIME_ICE_TRANSPORT_POLICY", "all")
if ICE_TRANSPORT_POLICY not in ("all", "relay"):
    raise ImproperlyConfigured(
        f"PRIMETIME_ICE_TRANSPORT_POLICY must be all or relay; got {ICE_TRANSPORT_POLICY!r}"
    )
if ICE_TRANSPORT_POLICY == "relay" and not _turn_urls:
    raise ImproperlyConfigured(
        "PRIMETIME_ICE_TRANSPORT_POLICY=relay needs a turn: URL in PRIMETIME_ICE_URLS"
    )

# --- Auth, i18n, static -----------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/admin/"

# Sign-in throttling (django-axes), on every way in: the sign-in page, the admin's and
# /api/token/. A username tried from one address is refused for a while after a few
# wrong passwords; a right one resets the count. Attempts and lockouts are listed in the
# admin (Axes), where staff can also clear them.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("PRIMETIME_SIGNIN_FAILURES", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("PRIMETIME_SIGNIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "config.views.signin_locked_out"
AXES_VERBOSE = False

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
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
# In development WhiteNoise serves straight from the apps' and project's static folders,
# so any ASGI server (daphne, uvicorn) serves CSS and JS without collectstatic.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
# Uploads (branding images) live here, served by the app at /media/ (config/views.py);
# every server process must see the same folder.
MEDIA_ROOT = Path(env_str("PRIMETIME_MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
MEDIA_URL = "/media/"
# Lead exports hold personal data: their own folder, never under a public URL; they are
# downloaded through a permission-checked view.
EXPORTS_ROOT = Path(env_str("PRIMETIME_EXPORTS_DIR", str(BASE_DIR / "var" / "exports")))
STORAGES["exports"] = {
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": str(EXPORTS_ROOT), "base_url": None},
}
# A broadcast's post-session export waits this long after the end, so leads left on the
# end screen are in it (with a Celery worker; tasks run at once when embedded).
# A running export whose progress has not moved for this long lost its worker: every
# server process sweeps for them and queues them again.
EXPORT_STALL_SECONDS = env_int("PRIMETIME_EXPORT_STALL_SECONDS", 60, minimum=5)
POST_SESSION_EXPORT_DELAY_SECONDS = env_int("PRIMETIME_POST_SESSION_EXPORT_DELAY", 300, minimum=0)

# The guest cookie identifies a guest attendee across broadcasts (signed, not secret).
# Origins of the websites allowed to show the widget in an iframe (CSP frame-ancestors),
# e.g. "https://shop.example.com", besides the Embed sites staff add in the admin.
# Empty, and no site in the admin: PrimeTime's own pages only.
EMBED_ALLOWED_ORIGINS = env_list("PRIMETIME_EMBED_ORIGINS", [])
for _origin in EMBED_ALLOWED_ORIGINS:
    if _origin != "*" and not ORIGIN_PATTERN.fullmatch(_origin):
        raise ImproperlyConfigured(
            f"PRIMETIME_EMBED_ORIGINS: {_origin!r} is not an origin like https://shop.example.com"
        )

GUEST_COOKIE_NAME = "primetime_guest"
GUEST_COOKIE_MAX_AGE = 60 * 60 * 24 * 365
# New guests one network address may make in any minute (the watch page's name form
# and the widget): enough for an office arriving behind one NAT, not for a script.
GUESTS_PER_ADDRESS_PER_MINUTE = env_int("PRIMETIME_GUESTS_PER_ADDRESS_PER_MINUTE", 60, minimum=1)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "core.http.Pages",
    "PAGE_SIZE": 50,
    # Domain errors (core/errors.py) answer with their own status and code.
    "EXCEPTION_HANDLER": "core.http.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "PrimeTime API",
    "DESCRIPTION": (
        "Broadcasts with their live counters, captured leads, and lead exports. "
        "Authenticate with a session or `Authorization: Token <key>`; leads and exports "
        "need the `leads.export_leads` permission (the Ops group)."
    ),
    "VERSION": "1.0.0",
    # The docs page's assets are served from here, not from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No badge from validator.swagger.io: it would hand our schema's address to it.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "ENUM_NAME_OVERRIDES": {
        "BroadcastStateEnum": "broadcasts.models.BroadcastState",
        "ExportStateEnum": "leads.models.ExportState",
    },
    # The refusals each operation may answer with (config/api.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.api.document_refusals",
    ],
}

# --- Content-Security-Policy (django-csp) -------------------------------------
# Every page: scripts only from our own static files (ES modules by src, no inline
# script anywhere, no eval); the live socket on the hosts we serve; images from here
# or any https address (staff may type a logo or cover URL of their website), and
# data: images (the API docs' stylesheet draws its icons with them); video
# from the peer connections' streams. Styles allow inline attributes and elements:
# the brand accent and the analytics bars are style attributes, Django's admin
# changelist and the API docs page carry a <style> element; CSS cannot run script.
# The widget replaces frame-ancestors with its embed sites (participation/views.py);
# uploaded images keep their own sandbox policy (config/views.py).


def _socket_sources(hosts: list[str], *, debug: bool) -> list[str]:
    """The live socket's addresses for the host names we serve. 'self' covers a
    same-host ws:/wss: address in current browsers; these name it for the others.
    (CSP has no syntax for IPv6 addresses: those rely on 'self'.)"""
    sources = []
    for host in hosts:
        if host == "*":
            sources += ["wss:", "ws:"] if debug else ["wss:"]
            continue
        if host.startswith("["):
            continue
        names = [host[1:], f"*{host}"] if host.startswith(".") else [host]
        for name in names:
            sources.append(f"wss://{name}")
            if debug:  # runserver and the test servers: plain ws:, any port
                sources.append(f"ws://{name}:*")
    return sources


CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "https:", "data:"],
        "media-src": ["'self'", "blob:", "mediastream:"],
        "connect-src": ["'self'", *_socket_sources(ALLOWED_HOSTS, debug=DEBUG)],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- Production safety --------------------------------------------------------
# The session cookie is HttpOnly (Django's default); no script of ours reads the CSRF
# cookie either (forms carry the token), so it is HttpOnly too.
CSRF_COOKIE_HTTPONLY = True
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 60 * 60 * 24 * 365, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"timed": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "timed"}},
    "loggers": {
        **{
            app: {"handlers": ["console"], "level": env_str("PRIMETIME_LOG_LEVEL", "INFO")}
            for app in ("broadcasts", "participation", "leads", "config", "core")
        },
        # The pool says when it cannot connect to PostgreSQL: with the time, like ours.
        "psycopg": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
