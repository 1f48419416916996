"""`manage.py check --deploy` with the README's production environment reports nothing."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "x7#Qp2vL9zR4mT8wK1nB6yH3jF5dS0aG-e_cU7iO2pX9qW4rE1tY6uI3oP8aS5dF",
    "DATABASE_URL": "postgres://trunkpool@db.example.com:5432/trunkpool",
    "ALLOWED_HOSTS": "trunkpool.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://trunkpool.example.com",
    "SECURE_COOKIES": "1",
    "SECURE_SSL_REDIRECT": "1",
    "SECURE_HSTS_SECONDS": "31536000",
    "EMAIL_URL": "smtp+tls://user:pass@smtp.example.com:587",
}


def test_check_deploy_is_clean_with_the_readmes_production_environment():
    readme = (ROOT / "README.md").read_text()
    for name in PRODUCTION:
        assert f"{name}=" in readme, f"the README's production environment no longer sets {name}"
    # Only what a production server has: nothing the test run itself sets (the browser tests
    # set DJANGO_ALLOW_ASYNC_UNSAFE, which check --deploy rightly refuses).
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/"), **PRODUCTION}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
