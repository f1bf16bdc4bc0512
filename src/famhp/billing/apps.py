from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "famhp.billing"
    verbose_name = _("Assessment and invoicing")

    def ready(self) -> None:
        from famhp.immutable import connect

        connect(self)  # the facts' triggers, installed again after every migrate (ADR 14)
