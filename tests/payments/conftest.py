"""The payments tests read messages and queue reasons in English: the site's default language is Dutch, and
its catalogues are now translated."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield
