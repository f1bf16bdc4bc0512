"""The workplace's background tasks (django-tasks, database backend: `manage.py db_worker`)."""

from __future__ import annotations

from django_tasks import task


@task()
def run_mass_action(action_id: int) -> str:
    from famhp.workplace.actions import mass_action_run

    return str(mass_action_run(action_id=action_id).state)


@task()
def run_bank_import(import_id: int) -> str:
    from famhp.workplace.banking import bank_import_run

    return str(bank_import_run(import_id=import_id).state)
