"""Two writers at once, as two processes would be: each call in its own thread with its own database connection,
released together by a barrier. Shown on PostgreSQL (SQLite writes one at a time anyway)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.utils import translation

POSTGRESQL = pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrency is shown on PostgreSQL")


def at_once(*calls: Callable[[], Any]) -> tuple[list[Any], list[BaseException]]:
    """The calls in threads, each with its own connection and in English (a new thread starts in the site's
    language), released together: what they returned and what they raised."""
    barrier, results, errors = threading.Barrier(len(calls)), [], []

    def run(call: Callable[[], Any]) -> None:
        translation.activate("en")
        try:
            barrier.wait()
            results.append(call())
        except BaseException as error:  # reported to the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors
