"""Each middleware's own CPU per request, for ``bench/portal.py --profile``: marker middleware put between the
project's ones note the thread's CPU clock on the way in, at the view hooks and on the way out; a middleware's
share is the clock between its two neighbours' marks, the view and its template excluded."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

_marks = threading.local()


def _events() -> list[tuple[str, int, float]]:
    events: list[tuple[str, int, float]] | None = getattr(_marks, "events", None)
    if events is None:
        events = _marks.events = []
    return events


class Mark:
    index = 0

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        _events().append(("in", self.index, time.thread_time()))
        response = self.get_response(request)
        _events().append(("out", self.index, time.thread_time()))
        return response

    def process_view(self, request: HttpRequest, view: Any, args: Any, kwargs: Any) -> None:
        _events().append(("view", self.index, time.thread_time()))


MARKS = [type(f"Mark{index}", (Mark,), {"index": index}) for index in range(64)]
for _mark in MARKS:
    globals()[_mark.__name__] = _mark


def middleware_shares(client: Any, path: str, count: int) -> list[tuple[str, float]]:
    """(middleware, CPU seconds per request) for ``count`` GETs of ``path`` with the test ``client``."""
    from django.conf import settings
    from django.test import override_settings

    names = list(settings.MIDDLEWARE)
    marked: list[str] = []
    for index, name in enumerate(names):
        marked += [f"{__name__}.Mark{index}", name]
    marked.append(f"{__name__}.Mark{len(names)}")
    totals = dict.fromkeys(names, 0.0)
    with override_settings(MIDDLEWARE=marked):
        client.handler.load_middleware()
        client.get(path)
        for _ in range(count):
            _events().clear()
            client.get(path)
            at = {(kind, index): clock for kind, index, clock in _events()}
            for index, name in enumerate(names):
                own = at["in", index + 1] - at["in", index] + at["out", index] - at["out", index + 1]
                if ("view", index + 1) in at:
                    own += at["view", index + 1] - at["view", index]
                totals[name] += own
    client.handler.load_middleware()
    return [(name, totals[name] / count) for name in names]
