"""Assessment and invoicing, by idea: the year (settings, closing, state), runs, invoices, corrections."""

from famhp.billing.services.corrections import (
    Correction,
    corrections_apply,
    credit_note_issue,
    invoice_correct,
    operator_reassess,
)
from famhp.billing.services.invoices import invoice_lines, invoices_issue
from famhp.billing.services.runs import RunChange, assessment_run, fps_turnover_import, latest_run, run_changes
from famhp.billing.services.years import (
    SettingChange,
    change_refusals,
    cost_per_entity_fix,
    outside_the_rules,
    parameters_used,
    settings_changes,
    settings_moved,
    unconfirmed_for,
    year_close,
    year_closing_decide,
    year_settings_change,
    year_settings_from_builtin,
)

__all__ = [
    "Correction",
    "RunChange",
    "SettingChange",
    "assessment_run",
    "change_refusals",
    "corrections_apply",
    "cost_per_entity_fix",
    "credit_note_issue",
    "fps_turnover_import",
    "invoice_correct",
    "invoice_lines",
    "invoices_issue",
    "latest_run",
    "operator_reassess",
    "outside_the_rules",
    "parameters_used",
    "run_changes",
    "settings_changes",
    "settings_moved",
    "unconfirmed_for",
    "year_close",
    "year_closing_decide",
    "year_settings_change",
    "year_settings_from_builtin",
]
