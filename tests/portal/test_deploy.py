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
