"""The workplace's background tasks (django-tasks, database backend: `manage.py db_worker`)."""

from __future__ import annotations

from django_tasks import task


@task()
def run_mass_action(action_id: int) -> str:
    from famhp.workplace.actions import mass_action_run

    return str(mass_action_run(action_id=action_id).state)
