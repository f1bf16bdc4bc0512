from typing import Any

from django.core.management.base import BaseCommand

from famhp.accounts.roles import agency_roles_setup


class Command(BaseCommand):
    help = "Create or refresh the agency's roles (docs/roles.md): finance officer, auditor, support, administrator."

    def handle(self, *args: Any, **options: Any) -> None:
        for name, group in agency_roles_setup().items():
            self.stdout.write(f"{name}: {group.permissions.count()} permissions")
