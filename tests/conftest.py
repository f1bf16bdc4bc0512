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


def _transactional(item: pytest.Item) -> bool:
    marker = item.get_closest_marker("django_db")
    marked = marker is not None and bool(marker.kwargs.get("transaction", marker.args[0] if marker.args else False))
    fixtures = set(getattr(item, "fixturenames", ()))
    return marked or bool(fixtures & {"transactional_db", "live_server", "django_db_reset_sequences"})


@pytest.fixture(autouse=True)
def _facts_purged_before_flush(request: pytest.FixtureRequest) -> Any:
    """The one test-only path around the facts' triggers (ADR 14): after a transactional test, and before the
    flush that empties its database (DELETE on SQLite, TRUNCATE on PostgreSQL, both refused while a fact table
    holds a row), the fact tables are emptied with their triggers lifted for the moment. Asking for the
    database fixture here makes this teardown run before the database's own (the flush)."""
    if not _transactional(request.node):
        yield
        return
    request.getfixturevalue("transactional_db")
    yield
    from django.db import connections

    from famhp.immutable import purge_facts_for_tests

    for connection in connections.all(initialized_only=True):
        purge_facts_for_tests(connection)


@pytest.fixture
def facts_purged_after(transactional_db: None) -> Any:
    """Kept for the tests that ask for it: every transactional test is purged by the fixture above."""
    yield


@pytest.fixture(autouse=True)
def _english_outside_requests() -> Any:
    """Tests read messages in English unless they choose a language: the site's default language is Dutch and its
    catalogues are complete, and a request's language must not leak into the next test through the thread."""
    from django.utils import translation

    with translation.override("en"):
        yield
