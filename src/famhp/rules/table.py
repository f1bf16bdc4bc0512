"""A year's assessment as a plain-text table, for people (``famhp calculate --format table``)."""

from __future__ import annotations

from famhp.rules.assessment import YearResult
from famhp.rules.explanation import eur, percent
from famhp.rules.money import ZERO, format_money

__all__ = ["render_table"]

COLUMNS = ("Operator", "Liable", "Entities", "Exempt", "Activity tax", "Turnover levy", "Total", "Fine", "Due")


def render_table(result: YearResult, *, explain: bool = False) -> str:
    """The year's figures, then one row per operator (amounts in euro), then the totals."""

    summary = [
        ("Contribution year", str(result.year)),
        (
            "Activity-tax budget",
            "—" if result.activity_tax_budget is None else eur(result.activity_tax_budget),
        ),
        (
            "Turnover-levy budget",
            "—" if result.turnover_levy_budget is None else eur(result.turnover_levy_budget),
        ),
        ("Total entities", str(result.total_entities)),
        ("Cost per entity", "—" if result.cost_per_entity is None else eur(result.cost_per_entity)),
        ("Levied turnover (liable, non-exempt)", eur(result.levied_turnover_total)),
        (
            "Computed levy rate",
            "—" if result.computed_levy_rate is None else percent(result.computed_levy_rate),
        ),
        ("Applied levy rate", "—" if result.levy_rate is None else percent(result.levy_rate)),
    ]
    if result.unconfirmed:
        summary.append(("Unconfirmed parameters", ", ".join(result.unconfirmed)))
    width = max(len(label) for label, _ in summary)
    out = [f"{label:<{width}}  {value}" for label, value in summary]
    out.append("")

    rows = [
        (
            o.id,
            "yes" if o.liable else "no",
            str(o.entities),
            ("yes" if o.exempt else "no") if o.liable else "—",
            format_money(o.activity_tax),
            format_money(o.turnover_levy),
            format_money(o.total),
            format_money(o.fine),
            format_money(o.amount_due),
        )
        for o in result.operators
    ]
    totals = (
        "Total",
        str(sum(o.liable for o in result.operators)),
        str(sum(o.entities for o in result.operators)),
        str(sum(o.exempt and o.liable for o in result.operators)),
        format_money(sum((o.activity_tax for o in result.operators), ZERO)),
        format_money(sum((o.turnover_levy for o in result.operators), ZERO)),
        format_money(sum((o.total for o in result.operators), ZERO)),
        format_money(sum((o.fine for o in result.operators), ZERO)),
        format_money(sum((o.amount_due for o in result.operators), ZERO)),
    )
    widths = [max(len(row[i]) for row in [COLUMNS, *rows, totals]) for i in range(len(COLUMNS))]

    def line(cells: tuple[str, ...]) -> str:
        first = f"{cells[0]:<{widths[0]}}"
        rest = (f"{cell:>{w}}" for cell, w in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    rule = "  ".join("-" * w for w in widths)
    out.extend([line(COLUMNS), rule])
    for row, operator in zip(rows, result.operators, strict=True):
        out.append(line(row))
        if explain:
            out.extend(f"    · {text.render()}" for text in operator.explanation)
    out.extend([rule, line(totals), ""])
    if explain and result.explanation:
        out.append("How the year's figures were set:")
        out.extend(f"    · {text.render()}" for text in result.explanation)
        out.append("")
    return "\n".join(out)
