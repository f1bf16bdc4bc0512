"""Test settings: famhp's own, with a temporary data folder; DATABASE_URL still selects PostgreSQL."""

import os
import tempfile

os.environ.setdefault("FAMHP_DATA_DIR", tempfile.mkdtemp(prefix="famhp-test-"))

from famhp.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
FAMHP_BASE_URL = "http://testserver"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# oidc-provider-mock 0.3.4 issues ID tokens without "kid" (test settings only).
OIDC_VERIFY_KID = False
