"""Invoice PDFs of a batch rendered by a pool of worker processes (ADR 17).

Rendering holds the GIL for the whole document: threads would render one at a time, processes render one a
core. This process reads the database, fills in the document's texts and lays out its page (invoice_draft, two
or three milliseconds; the HTML instead for a document only WeasyPrint lays out exactly); the workers make the
EPC QR code and write the PDF (documents.draft_pdf, or WeasyPrint for the HTML), so they never touch the
database. They are forked: they start in milliseconds with Django, the reduced fonts and WeasyPrint already
loaded, and leave through multiprocessing's os._exit, never closing a database connection they inherited.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor

from famhp.billing import pdfdirect
from famhp.billing.documents import draft_pdf, invoice_draft
from famhp.billing.models import Invoice

#: documents handed to the workers ahead of the one asked for: enough to keep every worker busy, few enough
#: that a batch of 10,000 never holds more than a handful of PDFs in memory
AHEAD_PER_WORKER = 4


def pdf_workers() -> int:
    """One worker a core this process may run on."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def invoices_pdfs(
    invoices: Iterable[Invoice], *, workers: int | None = None
) -> Iterator[tuple[Invoice, Future[bytes]]]:
    """Each invoice with the future of its PDF, in the order given. A document that cannot be rendered raises
    its error from its own future's result(), the others are not affected. With one worker (or one core) the
    documents are rendered here, one by one, when asked for."""
    count = workers if workers is not None else pdf_workers()
    if count <= 1:
        for invoice in invoices:
            yield invoice, _rendered_here(invoice)
        return
    pdfdirect.available()  # the fonts are reduced once, here, and inherited by every worker
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=count, mp_context=context) as pool:
        pending: deque[tuple[Invoice, Future[bytes]]] = deque()
        for invoice in invoices:
            pending.append((invoice, _submitted(pool, invoice)))
            if len(pending) > count * AHEAD_PER_WORKER:
                yield pending.popleft()
        while pending:
            yield pending.popleft()


def _submitted(pool: ProcessPoolExecutor, invoice: Invoice) -> Future[bytes]:
    try:
        draft = invoice_draft(invoice)
    except Exception as error:  # reported by this invoice's future, like a rendering error
        failed: Future[bytes] = Future()
        failed.set_exception(error)
        return failed
    return pool.submit(draft_pdf, draft)


def _rendered_here(invoice: Invoice) -> Future[bytes]:
    done: Future[bytes] = Future()
    try:
        done.set_result(draft_pdf(invoice_draft(invoice)))
    except Exception as error:
        done.set_exception(error)
    return done
