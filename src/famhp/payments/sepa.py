"""Refunds (D12) as a SEPA credit transfer file (ISO 20022 pain.001.001.03), for the bank."""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from lxml import etree

from famhp.languages import document_language
from famhp.payments.models import Refund
from famhp.rules.money import ZERO
from famhp.text import one_line

NS = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"


def _sub(parent: etree._Element, name: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{NS}}}{name}", attrs)
    if text is not None:
        element.text = one_line(text)  # XML 1.0 forbids most control characters: a name with one still goes out
    return element


def _remittance(refund: Refund) -> str:
    """What the company's bank prints beside the refund: in the company's language, as its documents are."""
    with translation.override(document_language(refund.operator.language)):
        # Translators: printed by the bank on the company's statement, at most 140 characters in all
        return _("Refund of credit balance %(identifier)s") % {"identifier": refund.operator.identifier}


def refunds_pain001(refunds: Sequence[Refund], *, message_id: str, execution: datetime.date) -> bytes:
    """One payment information block, one transfer per recorded refund, to the account it names."""
    total = sum((refund.amount for refund in refunds), ZERO)
    root = etree.Element(f"{{{NS}}}Document", nsmap={None: NS})
    initiation = _sub(root, "CstmrCdtTrfInitn")
    header = _sub(initiation, "GrpHdr")
    _sub(header, "MsgId", message_id[:35])
    _sub(header, "CreDtTm", datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    _sub(header, "NbOfTxs", str(len(refunds)))
    _sub(header, "CtrlSum", f"{total:.2f}")
    _sub(_sub(header, "InitgPty"), "Nm", settings.FAMHP_CREDITOR_NAME[:70])
    info = _sub(initiation, "PmtInf")
    _sub(info, "PmtInfId", message_id[:35])
    _sub(info, "PmtMtd", "TRF")
    _sub(info, "NbOfTxs", str(len(refunds)))
    _sub(info, "CtrlSum", f"{total:.2f}")
    _sub(_sub(_sub(info, "PmtTpInf"), "SvcLvl"), "Cd", "SEPA")
    _sub(info, "ReqdExctnDt", execution.isoformat())
    _sub(_sub(info, "Dbtr"), "Nm", settings.FAMHP_CREDITOR_NAME[:70])
    _sub(_sub(_sub(info, "DbtrAcct"), "Id"), "IBAN", settings.FAMHP_IBAN)
    _sub(_sub(_sub(info, "DbtrAgt"), "FinInstnId"), "BIC", settings.FAMHP_BIC)
    _sub(info, "ChrgBr", "SLEV")
    for refund in refunds:
        transfer = _sub(info, "CdtTrfTxInf")
        _sub(_sub(transfer, "PmtId"), "EndToEndId", f"FAMHP-REFUND-{refund.pk}"[:35])
        _sub(_sub(transfer, "Amt"), "InstdAmt", f"{refund.amount:.2f}", Ccy="EUR")
        _sub(_sub(transfer, "Cdtr"), "Nm", (refund.name or refund.operator.name)[:70])
        _sub(_sub(_sub(transfer, "CdtrAcct"), "Id"), "IBAN", refund.iban)
        _sub(_sub(transfer, "RmtInf"), "Ustrd", _remittance(refund)[:140])
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
