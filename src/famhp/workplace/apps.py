from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkplaceConfig(AppConfig):
    """The agency's staff workplace: a front door over the domain apps (issue 12, ADR 16)."""

    name = "famhp.workplace"
    verbose_name = _("Staff workplace")
    default_auto_field = "django.db.models.BigAutoField"
