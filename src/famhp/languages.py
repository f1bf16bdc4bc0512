"""Which language each thing is written in. The portal and the documents speak Dutch, French and English
(settings.LANGUAGES); operators may prefer German too, and the e-mails speak it. Anything else gets English."""

from __future__ import annotations

from django.conf import settings

EMAIL_LANGUAGES = frozenset(code for code, _label in settings.OPERATOR_LANGUAGES)
DOCUMENT_LANGUAGES = frozenset(code for code, _label in settings.LANGUAGES)


def email_language(code: str) -> str:
    """The language of an e-mail to someone who prefers ``code``."""
    return code if code in EMAIL_LANGUAGES else "en"


def document_language(code: str) -> str:
    """The language of a PDF or portal page for someone who prefers ``code``."""
    return code if code in DOCUMENT_LANGUAGES else "en"
