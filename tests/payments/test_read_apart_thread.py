"""A statement file is read by a forked second process only from a process's main thread (a command, the task
worker): never from a server's request thread (the admin's import runs in the request), whose other threads may
hold locks a forked child would inherit held."""

from __future__ import annotations

import threading

from famhp.payments.services import READ_APART_FROM, reads_apart


def test_only_a_large_file_in_the_main_thread_is_read_apart() -> None:
    large, small = b"0" * READ_APART_FROM, b"0" * (READ_APART_FROM - 1)
    assert reads_apart(large) and not reads_apart(small)
    in_thread: list[bool] = []
    thread = threading.Thread(target=lambda: in_thread.append(reads_apart(large)))
    thread.start()
    thread.join()
    assert in_thread == [False]
