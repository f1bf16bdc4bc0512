"""The session store (famhp.accounts.sessions, issue 15): Django's database sessions read with plain SQL, with
the same answers as Django's own store."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore as DjangoStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from famhp.accounts.sessions import SessionStore

pytestmark = pytest.mark.django_db


def test_the_settings_use_this_store() -> None:
    assert settings.SESSION_ENGINE == "famhp.accounts.sessions"


def test_a_session_saved_by_django_reads_the_same() -> None:
    saved = DjangoStore()
    saved["famhp_declaration_access"] = [[1, 2]]
    saved["_auth_user_id"] = "7"
    saved.create()
    read = SessionStore(saved.session_key)
    assert read.load() == {"famhp_declaration_access": [[1, 2]], "_auth_user_id": "7"}
    assert read.session_key == saved.session_key


def test_an_expired_session_is_empty_and_forgets_its_key() -> None:
    saved = SessionStore()
    saved["_auth_user_id"] = "7"
    saved.create()
    Session.objects.filter(session_key=saved.session_key).update(
        expire_date=timezone.now() - datetime.timedelta(seconds=1)
    )
    read = SessionStore(saved.session_key)
    assert read.load() == {}
    assert read.session_key is None


def test_a_flushed_session_is_gone_for_every_reader() -> None:
    # a logout in one server process ends the session in every other one: the database holds it, no cache
    saved = SessionStore()
    saved["_auth_user_id"] = "7"
    saved.create()
    key = saved.session_key
    assert key is not None
    elsewhere = SessionStore(key)
    assert elsewhere.load() == {"_auth_user_id": "7"}
    saved.flush()
    assert SessionStore(key).load() == {}
    assert not SessionStore().exists(key)


@pytest.mark.parametrize("key", [None, "", "short", "x" * 41, "' OR 1=1 --"])
def test_a_missing_or_malformed_key_reads_nothing(key: str | None) -> None:
    assert SessionStore(key).load() == {}
