"""Production settings pass Django's deployment checks with no warning."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_check_deploy_is_clean(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "famhp.settings",
        "FAMHP_PRODUCTION": "1",
        "DJANGO_SECRET_KEY": "p" * 20 + "Zq8#kL2!mN5@xR7$vB1^cD4&fG6*hJ9(wE3)tY0",
        "DJANGO_ALLOWED_HOSTS": "contributions.famhp.example",
        "FAMHP_DATA_DIR": str(tmp_path),
    }
    for name in ("DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE", "EMAIL_BACKEND"):
        env.pop(name, None)
    completed = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "check", "--deploy", "--fail-level", "WARNING"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "no issues" in completed.stdout


def production_setting(tmp_path: Path, *names: str) -> list[str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "famhp.settings",
        "FAMHP_PRODUCTION": "1",
        "DJANGO_SECRET_KEY": "p" * 50,
        "DJANGO_ALLOWED_HOSTS": "contributions.famhp.example",
        "FAMHP_DATA_DIR": str(tmp_path),
    }
    code = "from django.conf import settings; import django; django.setup(); " + "; ".join(
        f"print(settings.{name})" for name in names
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True, cwd=ROOT
    )
    return completed.stdout.split()


def test_production_cookies_are_host_only_and_secure(tmp_path: Path) -> None:
    assert production_setting(
        tmp_path, "SESSION_COOKIE_NAME", "CSRF_COOKIE_NAME", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"
    ) == ["__Host-famhp-session", "__Host-famhp-csrf", "True", "True"]
    assert production_setting(tmp_path, "SESSION_COOKIE_DOMAIN", "CSRF_COOKIE_DOMAIN", "SESSION_COOKIE_PATH") == [
        "None",
        "None",
        "/",
    ]
