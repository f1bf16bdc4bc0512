"""Django settings. SQLite in ./data by default; PostgreSQL through DATABASE_URL; production from the environment.

Environment:
- DATABASE_URL            postgres://user:password@host:port/name (default: SQLite at FAMHP_DATA_DIR/famhp.sqlite3)
- FAMHP_DATA_DIR          where the SQLite file and uploaded certificates live (default: ./data), outside the
                          web root: certificates are served only through a view that checks access.
- FAMHP_PRODUCTION=1      production: DEBUG off, secure cookies, HSTS, SSL redirect; needs DJANGO_SECRET_KEY and
                          DJANGO_ALLOWED_HOSTS (comma-separated).
- FAMHP_BASE_URL          absolute address of the portal, for links in e-mails (default http://127.0.0.1:8000)
- EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS, DEFAULT_FROM_EMAIL
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("FAMHP_DATA_DIR", Path.cwd() / "data")).resolve()
PRODUCTION = os.environ.get("FAMHP_PRODUCTION") == "1"
DATA_DIR.mkdir(parents=True, exist_ok=True)

if PRODUCTION:
    SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
    ALLOWED_HOSTS = [h.strip() for h in os.environ["DJANGO_ALLOWED_HOSTS"].split(",") if h.strip()]
    DEBUG = False
else:
    SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "dev-only-not-secret-0b1c9d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c")
    ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", "testserver"]
    DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"

INSTALLED_APPS = [
    "famhp.admin_base.StaffAdminConfig",  # django.contrib.admin, with the site that enforces the role matrix
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "simple_history",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "mozilla_django_oidc",
    "famhp.accounts",
    "famhp.registry",
    "famhp.declarations",
    "famhp.billing",
    "famhp.payments",
    "django_tasks",
    "django_tasks_db",
    "famhp.workplace",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from here: nothing loaded from elsewhere (CSP)
    "famhp.api",
]

#: Long mass actions of the workplace run as background tasks in the database, by `manage.py db_worker` (ADR 16).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

AUTH_USER_MODEL = "accounts.Person"
#: django-axes first: it refuses a locked-out request before any other backend is tried (HTTP 429).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "famhp.accounts.oidc.PersonOIDCBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:companies"
LOGOUT_REDIRECT_URL = "home"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "famhp.accounts.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "famhp.accounts.middleware.StaffSecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "famhp.urls"
WSGI_APPLICATION = "famhp.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def database_from_url(url: str) -> dict[str, object]:
    """postgres://user:password@host:port/name → Django's DATABASES entry."""
    parsed = urlparse(url)
    if parsed.scheme not in {"postgres", "postgresql"}:
        raise ValueError(f"DATABASE_URL: unsupported scheme {parsed.scheme!r} (postgres:// expected)")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parsed.path.lstrip("/")),
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": parsed.hostname or "",
        "PORT": str(parsed.port or ""),
        "CONN_MAX_AGE": 60,
    }


if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": database_from_url(os.environ["DATABASE_URL"])}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "famhp.sqlite3",
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "nl"
LANGUAGES = [("nl", _("Dutch")), ("fr", _("French")), ("en", _("English"))]
#: Operators may prefer German (nl/fr/en/de); the portal speaks nl/fr/en, the campaign's e-mails German too.
OPERATOR_LANGUAGES = [("nl", _("Dutch")), ("fr", _("French")), ("en", _("English")), ("de", _("German"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Brussels"
#: English dates as written in Belgium, day-month-year (issue 13)
FORMAT_MODULE_PATH = ["famhp.formats"]
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = not PRODUCTION  # production serves what collectstatic gathered
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
#: Uploaded certificates: outside the web root, never served by URL; see portal.declarations.certificate.
MEDIA_ROOT = DATA_DIR / "private"
# Never routed: no URL pattern serves MEDIA_ROOT; certificates go through portal.declarations.certificate.
MEDIA_URL = "/private/"
FILE_UPLOAD_PERMISSIONS = 0o640
CERTIFICATE_MAX_BYTES = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

FAMHP_BASE_URL = os.environ.get("FAMHP_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
#: `make demo`: the portal says that a campaign's deadline that is not 30 June is a demo date (issue 13)
FAMHP_DEMO = os.environ.get("FAMHP_DEMO") == "1"
#: The creditor on invoices. Demo defaults (a documentation IBAN and a made-up, valid enterprise number):
#: production sets the agency's own through the environment.
FAMHP_CREDITOR_NAME = os.environ.get("FAMHP_CREDITOR_NAME", "FAGG - AFMPS (demo)")
FAMHP_CREDITOR_ENTERPRISE_NUMBER = os.environ.get("FAMHP_CREDITOR_ENTERPRISE_NUMBER", "0884579919")
FAMHP_CREDITOR_ADDRESS = ("Galileelaan 5/03", "1210", "Brussel", "BE")
FAMHP_IBAN = os.environ.get("FAMHP_IBAN", "BE71096123456769")
FAMHP_BIC = os.environ.get("FAMHP_BIC", "GKCCBEBB")
#: Support contacts of RULES §9, shown where access is refused.
FAMHP_SUPPORT_EMAIL = "support.portal@fagg-afmps.be"
FAMHP_SUPPORT_PHONE = "+32 2 528 48 56"

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("EMAIL_USE_TLS") == "1"
EMAIL_TIMEOUT = 30
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(DATA_DIR / "mail"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "FAMHP contributions <contributions@fagg-afmps.be>")

# --- Logging in (issue 4) ---
#: The federal authentication service (eID, itsme) through OpenID Connect. Endpoints default to the paths
#: under the issuer; each can be set on its own.
FAMHP_OIDC_ISSUER = os.environ.get("FAMHP_OIDC_ISSUER", "http://localhost:8100").rstrip("/")
OIDC_RP_CLIENT_ID = os.environ.get("FAMHP_OIDC_CLIENT_ID", "famhp")
OIDC_RP_CLIENT_SECRET = os.environ.get("FAMHP_OIDC_CLIENT_SECRET", "famhp-dev-secret")
OIDC_RP_SCOPES = os.environ.get("FAMHP_OIDC_SCOPES", "openid email profile")
OIDC_RP_SIGN_ALGO = os.environ.get("FAMHP_OIDC_SIGN_ALGO", "RS256")
OIDC_OP_AUTHORIZATION_ENDPOINT = os.environ.get(
    "FAMHP_OIDC_AUTHORIZATION_ENDPOINT", f"{FAMHP_OIDC_ISSUER}/oauth2/authorize"
)
OIDC_OP_TOKEN_ENDPOINT = os.environ.get("FAMHP_OIDC_TOKEN_ENDPOINT", f"{FAMHP_OIDC_ISSUER}/oauth2/token")
OIDC_OP_USER_ENDPOINT = os.environ.get("FAMHP_OIDC_USERINFO_ENDPOINT", f"{FAMHP_OIDC_ISSUER}/userinfo")
OIDC_OP_JWKS_ENDPOINT = os.environ.get("FAMHP_OIDC_JWKS_ENDPOINT", f"{FAMHP_OIDC_ISSUER}/jwks")
OIDC_USE_NONCE = True
#: Only for the demo's loopback provider (oidc-provider-mock issues ID tokens without "kid"); never in production.
OIDC_VERIFY_KID = PRODUCTION or os.environ.get("FAMHP_OIDC_VERIFY_KID", "1") == "1"
OIDC_CREATE_USER = True
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc_authentication_callback"
#: Checks the ID token in full (issuer, audience, expiry, nonce) and shows a page for every failure.
OIDC_CALLBACK_CLASS = "famhp.accounts.oidc.CallbackView"
OIDC_TIMEOUT = 10

#: Lockout after repeated failures (django-axes), for an hour: 5 failures for one account, from wherever they come
#: (slow guessing spread over many addresses), and 5 failures from one address, whatever the accounts (issue 10).
#: The address is REMOTE_ADDR (the proxy in front sets it; X-Forwarded-For is not trusted).
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 1
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_LOCKOUT_TEMPLATE = "accounts/locked.html"
AXES_RESET_ON_SUCCESS = True
#: Reverting a record from its history would bypass the field rights of the role matrix (famhp.accounts.roles).
SIMPLE_HISTORY_REVERT_DISABLED = True
OTP_TOTP_ISSUER = "FAMHP contributions"
#: Never show an authenticator's secret key or QR code after enrolment (famhp.accounts.admin lists devices only).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

#: Django's database sessions, read with plain SQL (famhp.accounts.sessions, issue 15): same store, same guarantees.
SESSION_ENGINE = "famhp.accounts.sessions"
SESSION_COOKIE_AGE = 60 * 60 * 2
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    #: __Host- cookies: sent only over HTTPS, to this host alone (no Domain), for every path (issue 10).
    SESSION_COOKIE_NAME = "__Host-famhp-session"
    CSRF_COOKIE_NAME = "__Host-famhp-csrf"
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    LANGUAGE_COOKIE_SECURE = True

# --- The API (issue 14, docs/api.md) ---
#: Programs use personal access tokens (Authorization: Bearer); a logged-in browser may read the API and its
#: docs with its session (CSRF still checked). Errors are RFC 9457 problem details in the caller's language.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "famhp.api.authentication.BearerTokenAuthentication",
        "famhp.api.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["famhp.api.throttling.CallerRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "famhp.api.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "famhp.api.schema.ProblemAutoSchema",
    "EXCEPTION_HANDLER": "famhp.api.problems.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
}
#: Requests per token (or per logged-in person) and minute; one count per server process (docs/api.md).
FAMHP_API_RATE = os.environ.get("FAMHP_API_RATE", "120/min")
#: How long a personal access token lives at most (days).
FAMHP_API_TOKEN_MAX_DAYS = 365
SPECTACULAR_SETTINGS = {
    "TITLE": "FAMHP contributions API",
    "DESCRIPTION": "Declarations, estimates, invoices and account statements of the companies you act for "
    "(docs/api.md). Errors are RFC 9457 problem details (application/problem+json).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    #: the API's path converters (famhp.api.urls): ids of at most 18 digits, years of 4
    "PATH_CONVERTER_OVERRIDES": {
        "id": {"type": "integer", "minimum": 0, "maximum": 999999999999999999},
        "year": {"type": "integer", "minimum": 1000, "maximum": 9999},
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO" if PRODUCTION else "WARNING"},
}
