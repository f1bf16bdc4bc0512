"""The session store: Django's database sessions, read with one prepared statement (issue 15).

Every page of a logged-in person reads its session first. Django's store builds and compiles an ORM query for
that at each request, which costs more than the read itself; this store sends the same SELECT as plain SQL. All
else is Django's ``db`` store: the database holds the sessions (a logout or "log out everywhere" ends them for
every server process at once), the data is signed, expiry is checked in the query, saving is unchanged.
"""

from __future__ import annotations

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import connections, router
from django.utils import timezone


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self) -> AbstractBaseSession | None:
        key = self.session_key  # None unless the cookie held a well-formed key
        if key is None:
            return None
        model = self.model
        connection = connections[router.db_for_read(model)]
        table = connection.ops.quote_name(model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT session_data FROM {table} WHERE session_key = %s AND expire_date > %s",
                [key, connection.ops.adapt_datetimefield_value(timezone.now())],
            )
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        # what load() reads of it: the data (the expiry was checked in the query)
        return model(session_key=key, session_data=row[0])
