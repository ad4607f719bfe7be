"""Django settings for dockerweb.

Everything a deployment changes comes from the environment (see README.md, "Configuration").
"""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DATA_DIR = Path(os.environ.get("DOCKERWEB_DATA_DIR", BASE_DIR / "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)
BACKUP_DIR = Path(os.environ.get("DOCKERWEB_BACKUP_DIR", DATA_DIR / "backups")).resolve()
# Repositories (restic): the binary, its cache (speeds up incremental snapshots), and how long a
# quick command (snapshots, ls, check of a small repository) may take before it counts as hung.
RESTIC_BINARY = os.environ.get("DOCKERWEB_RESTIC", "restic")
RESTIC_CACHE_DIR = os.environ.get("DOCKERWEB_RESTIC_CACHE", str(DATA_DIR / "restic-cache"))
RESTIC_TIMEOUT = float(os.environ.get("DOCKERWEB_RESTIC_TIMEOUT", "600"))
# Bytes per second a backup, restore or snapshot may move (0: no limit), to spare a busy host's
# disks and links, like rsync --bwlimit.
BACKUP_BWLIMIT = int(os.environ.get("DOCKERWEB_BACKUP_BWLIMIT", "0") or 0)
# Local repositories live inside these folders of the workers' machine (colon-separated), never
# elsewhere: an admin's typo cannot write a repository over the machine's own files.
REPOSITORY_ROOTS = [Path(p).resolve() for p in os.environ.get(
    "DOCKERWEB_REPOSITORY_ROOTS", str(DATA_DIR / "repositories")).split(":") if p]
if "DOCKERWEB_REPOSITORY_ROOTS" not in os.environ:
    (DATA_DIR / "repositories").mkdir(exist_ok=True)
# Uploads are archives to import: streamed to a file beside the archive store (renamed into it,
# never copied), up to this many bytes.
IMPORT_MAX_BYTES = int(os.environ.get("DOCKERWEB_IMPORT_MAX_BYTES", str(20 * 1024 ** 3)))
# The files of volumes and backups: a folder lists at most this many entries (then says it was
# cut), and a file is shown in the page up to this many bytes (bigger ones are downloaded).
FILES_LIST_MAX = int(os.environ.get("DOCKERWEB_FILES_LIST_MAX", "5000"))
FILES_VIEW_MAX_BYTES = int(os.environ.get("DOCKERWEB_FILES_VIEW_MAX_BYTES", str(10 * 1024 ** 2)))
FILE_UPLOAD_HANDLERS = ["dockerweb.backups.uploads.ArchiveUploadHandler"]
FILE_UPLOAD_TEMP_DIR = str(BACKUP_DIR / ".uploads")
Path(FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    if os.environ.get("DOCKERWEB_SECRET_KEY"):
        return os.environ["DOCKERWEB_SECRET_KEY"]
    # Generated once per data dir so sessions survive restarts; readable by the owner only.
    path = DATA_DIR / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DOCKERWEB_DEBUG", False)
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("DOCKERWEB_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("DOCKERWEB_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "channels",
    "axes",
    "dockerweb.core",
    "dockerweb.engine",
    "dockerweb.inventory",
    "dockerweb.networks",
    "dockerweb.containers",
    "dockerweb.volumes",
    "dockerweb.backups",
    "dockerweb.repositories",
    "dockerweb.topology",
    "dockerweb.audit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "dockerweb.core.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "dockerweb.core.middleware.LoginRequiredMiddleware",
    "dockerweb.core.middleware.TimezoneMiddleware",
    "dockerweb.core.middleware.AppErrorMiddleware",
    # Last, as axes asks: it turns a request its backend flagged as locked out into the answer.
    "axes.middleware.AxesMiddleware",
]

# Sign-in throttling (django-axes): after LOGIN_FAILURE_LIMIT wrong passwords for one account
# from one address, that account is refused from that address for LOGIN_COOLOFF_MINUTES after
# the last failure (the right password too), on the login page, /admin/ and /api/auth/token/.
# Lifted early by an admin on the Users page. Keyed by the pair so that nobody can lock a
# colleague out from elsewhere by typing wrong passwords for their name.
AUTHENTICATION_BACKENDS = [
    "dockerweb.core.lockout.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_FAILURE_LIMIT = int(os.environ.get("DOCKERWEB_LOGIN_FAILURE_LIMIT", "5"))
LOGIN_COOLOFF_MINUTES = int(os.environ.get("DOCKERWEB_LOGIN_COOLOFF_MINUTES", "15"))
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# A successful sign-in clears that account's failures from that address: typos spread over a
# day never add up to a lockout.
AXES_RESET_ON_SUCCESS = True
# Tries during a lockout do not restart it, so "try again in N minutes" stays true.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "dockerweb.core.views.login_locked_out"
AXES_HTTP_RESPONSE_CODE = 403
AXES_DISABLE_ACCESS_LOG = True  # successful sign-ins are not needed for lockouts; keep no copy

ROOT_URLCONF = "dockerweb.urls"

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
                "dockerweb.core.context_processors.dockerweb",
            ],
        },
    },
]

ASGI_APPLICATION = "dockerweb.asgi.application"

_default_db = f"sqlite:///{DATA_DIR / 'db.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL", _default_db), conn_max_age=0)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker, beat and watcher share one file: WAL lets readers run beside one writer,
    # IMMEDIATE transactions and a timeout make writers queue instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LOGIN_URL = "core:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "core:login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
_vendor = BASE_DIR / "node_modules"
if _vendor.exists():
    STATICFILES_DIRS.append(("vendor", _vendor))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Cookies and headers: sessions are not readable from scripts, cross-site requests carry no
# session, and HTTPS deployments turn on the secure flags with one variable.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("DOCKERWEB_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_AGE = 12 * 3600
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# No inline script or style anywhere (behaviour lives in static/js, looks in static/css), so an
# injected <script> or on*= attribute does not run. img-src allows data:/blob: for the
# topology's PNG/SVG export; 'self' in connect-src covers the same-origin websocket.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}
# Browser features no page of dockerweb uses, refused for it and anything it might embed.
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer", "camera", "display-capture", "geolocation", "gyroscope", "magnetometer",
        "microphone", "midi", "payment", "usb", "serial", "hid", "screen-wake-lock",
        "xr-spatial-tracking", "idle-detection", "browsing-topics",
    )
}
if SESSION_COOKIE_SECURE:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6389/0")

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # redis-py 8 reads with a 5 s socket timeout by default, and channels_redis blocks 5 s
        # (BZPOPMIN) waiting for messages: every socket idle for 5 s died with a TimeoutError.
        "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 30}], "capacity": 1500, "expiry": 30},
    }
}

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A job outliving the visibility timeout would be redelivered; jobs also guard against running
# twice themselves (see backups), this keeps redelivery rare.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 6 * 3600}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["dockerweb.core.permissions.IsViewer"],
    # drf-spectacular's, plus the error answers of every operation (core/api/schema.py).
    "DEFAULT_SCHEMA_CLASS": "dockerweb.core.api.schema.AutoSchema",
    # The API speaks JSON (the contract); uploads name their own parsers.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_PAGINATION_CLASS": "dockerweb.core.api.pagination.Pagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "dockerweb.core.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer", "rest_framework.renderers.BrowsableAPIRenderer"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "dockerweb API",
    "DESCRIPTION": "Networks, containers, volumes, backups, topology and isolation audit of Docker hosts.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No deep links: Swagger UI puts each as an <a> inside the button that opens an operation (a
    # control inside a control, which screen readers cannot reach); no syntax colouring: its
    # theme's numbers are too faint on its dark background. See static/js/api-docs.js.
    "SWAGGER_UI_SETTINGS": {"deepLinking": False, "syntaxHighlight": False},
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["dockerweb.core.permissions.IsViewer"],
    # Request bodies get their own components (no read-only fields; required text non-blank).
    "COMPONENT_SPLIT_REQUEST": True,
    # Choice sets used by several fields get one name each (job status, compression, consistency).
    "ENUM_NAME_OVERRIDES": {"JobStatusEnum": "dockerweb.backups.models.Status",
                            "CompressionEnum": "dockerweb.backups.models.Compression",
                            "ConsistencyEnum": "dockerweb.backups.models.Consistency",
                            "AuditStatusEnum": "dockerweb.audit.models.Audit.Status"},
    "PATH_CONVERTER_OVERRIDES": {"id": {"type": "integer", "minimum": 0, "maximum": 10**18 - 1}},  # core/api/converters.py
}

# Engines: how long one call may take before the engine counts as unreachable.
DOCKER_TIMEOUT = int(os.environ.get("DOCKERWEB_DOCKER_TIMEOUT", "30"))
# The watcher: seconds between full reconciles (the safety net), and between light polls that
# catch changes no event announces (0: off).
RECONCILE_EVERY = float(os.environ.get("DOCKERWEB_RECONCILE_EVERY", "300"))
LIGHT_POLL = float(os.environ.get("DOCKERWEB_LIGHT_POLL", "2"))
# In an agent (a worker beside one host's engine: scripts/serve.sh agent HOST): the host, and the
# engine's socket as this machine reaches it.
AGENT_HOST = os.environ.get("DOCKERWEB_AGENT_HOST", "")
AGENT_ENGINE = os.environ.get("DOCKERWEB_AGENT_ENGINE", "") or (
    os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock") if AGENT_HOST else "")
# Watch processes share the hosts by leases in Redis: a dead one's hosts are taken over this soon.
WATCHER_LEASE_SECONDS = float(os.environ.get("DOCKERWEB_WATCHER_LEASE_SECONDS", "6"))
# The topology producer diffs a whole host this often, whatever the change notes said.
TOPOLOGY_FULL_EVERY = float(os.environ.get("DOCKERWEB_TOPOLOGY_FULL_EVERY", "10"))
# Inside containers: a console session that gets no keystroke for this long is ended; a
# one-off command's output is kept up to this many bytes (the rest is read and dropped).
CONSOLE_IDLE_SECONDS = float(os.environ.get("DOCKERWEB_CONSOLE_IDLE_SECONDS", "900"))
EXEC_MAX_OUTPUT = int(os.environ.get("DOCKERWEB_EXEC_MAX_OUTPUT", str(1 << 20)))
# Bind mounts: admins may bind only paths under these folders (colon-separated). This is the
# first value only: once an admin changes the list on the Settings page it lives in the database
# (core.selectors.bind_allowlist). The default folder is dockerweb's own, made here so that the
# list never starts with a folder that does not exist.
BIND_ALLOWLIST_ENVIRONMENT = os.environ.get("DOCKERWEB_BIND_ALLOWLIST")  # None: not set (the Settings page says so)
BIND_ALLOWLIST = [p for p in (BIND_ALLOWLIST_ENVIRONMENT or str(DATA_DIR / "binds")).split(":") if p]
if BIND_ALLOWLIST_ENVIRONMENT is None:
    (DATA_DIR / "binds").mkdir(exist_ok=True)
# The first admin, made by `manage.py ensure_admin` (`make run`) when there is none; without a
# password, one is generated and shown once.
ADMIN_USER = os.environ.get("DOCKERWEB_ADMIN_USER") or "admin"
ADMIN_PASSWORD = os.environ.get("DOCKERWEB_ADMIN_PASSWORD") or None

# Jobs (backups, restores, audits): a running job whose heartbeat is this old is taken over (its
# worker died). (BACKUP_BWLIMIT, above, bounds what a backup or restore moves.)
JOB_STALE_SECONDS = int(os.environ.get("DOCKERWEB_JOB_STALE_SECONDS", "60"))
# Volumes of an engine on this machine are read and written in place (False: always through the
# engine's helpers, as for a remote engine; DOCKERWEB_BACKUP_DIRECT=off).
BACKUP_DIRECT = os.environ.get("DOCKERWEB_BACKUP_DIRECT", "auto").strip().lower() not in {"off", "0", "no", "false"}
# zstd level of archives (1: on 2 cores the CPU, not the disk, bounds a backup; level 3 saves ~10%
# space for ~2x the time) and its worker threads (reading the volume and hashing its files run
# beside the compression; 0: none).
ZSTD_LEVEL = int(os.environ.get("DOCKERWEB_ZSTD_LEVEL", "1"))
# The level of `compression: "fast"` archives: zstd's fast modes (negative levels) trade size for
# speed (-3: about 1.5x quicker than level 1 here, about 30% larger).
ZSTD_FAST_LEVEL = int(os.environ.get("DOCKERWEB_ZSTD_FAST_LEVEL", "-3"))
ZSTD_THREADS = int(os.environ.get("DOCKERWEB_ZSTD_THREADS", str(min(os.cpu_count() or 1, 4))))
# Images of helper containers (backups, restores, volume files) and of audit probes: when set, the
# only one tried; else the first suitable image present on the host. Never pulled.
HELPER_IMAGE = os.environ.get("DOCKERWEB_HELPER_IMAGE", "").strip()
PROBE_IMAGE = os.environ.get("DOCKERWEB_PROBE_IMAGE", "").strip()

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DOCKERWEB_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
