from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "famhp.accounts"
    verbose_name = _("Access and accounts")

    def ready(self) -> None:
        from famhp.accounts import receivers  # noqa: F401 - connects the audit receivers
