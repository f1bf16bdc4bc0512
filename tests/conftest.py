"""Shared helpers for the tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from famhp import cli
from tests.browser import browser  # noqa: F401 - the Chromium fixture of the browser tests

ROOT = Path(__file__).resolve().parent.parent


class Run:
    """The outcome of one ``famhp`` invocation run in-process."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def famhp(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Run]:
    """Run ``famhp ARGS`` in-process; ``stdin`` (a str) is fed to standard input."""

    def run(*args: str, stdin: str | None = None) -> Run:
        if stdin is not None:
            import io

            monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin.encode("utf-8"))))
        try:
            code = cli.main(list(args))
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


@pytest.fixture
def facts_purged_after(transactional_db: None) -> Any:
    """For live-server tests that create invoices or bank lines: empties those tables (their triggers refuse the
    DELETE with which the test database is flushed on SQLite) before the flush."""
    yield
    from django.db import connection

    from famhp.immutable import purge_facts_for_tests

    purge_facts_for_tests(connection)
