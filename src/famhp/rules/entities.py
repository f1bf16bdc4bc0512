"""The number of entities of an operator, for the activity tax.

Law of 20 July 2006, art. 14/9 and annex IX, chapter III; FAQ 4, 14 and 17; RULES.md D1, D2 and D11 (the
table is dated: data/entity-tables.yaml).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, NamedTuple

import yaml

__all__ = [
    "MAX_ENTITIES_UNREGISTERED",
    "ROLES",
    "EntityCount",
    "EntityTable",
    "UnknownActivity",
    "UnknownYear",
    "count_entities",
    "entity_table",
    "entity_table_for",
]

ROLES = (
    "authorised_representative",
    "distributor",
    "importer",
    "manufacturer",
    "custom_made_manufacturer",
    "assembler",
    "stha",
)

#: D2 (FAQ 14): an operator without any registered activity is counted at the maximum, 8 + 1.
MAX_ENTITIES_UNREGISTERED = 9


class UnknownActivity(ValueError):
    """A role or category outside the entity table, or a role that does not exist for a category."""


class UnknownYear(ValueError):
    """A contribution year for which no entity table is encoded (D11): refused, never guessed."""


@dataclass(frozen=True, slots=True)
class EntityTable:
    """Annex IX, chapter III: entities per (category, role); a missing pair does not exist.

    ``confirmed`` and ``source`` say whether an official publication confirms the table for the years it is
    used for, and which (D11).
    """

    cells: Mapping[tuple[str, str], int]
    categories: tuple[str, ...]
    confirmed: bool = True
    source: str = "data/entity-table.csv"

    def entities(self, role: str, category: str) -> int:
        """The cell for ``role`` and ``category``; raises :class:`UnknownActivity` if there is none."""
        try:
            return self.cells[(category, role)]
        except KeyError:
            if role not in ROLES:
                raise UnknownActivity(f"unknown role {role!r}") from None
            if category not in self.categories:
                raise UnknownActivity(f"unknown category {category!r}") from None
            raise UnknownActivity(
                f"the role {role!r} does not exist for the category {category!r} (empty cell in annex IX)"
            ) from None


@cache
def entity_table() -> EntityTable:
    """The shipped entity table (data/entity-table.csv, see data/SOURCES.md)."""
    text = resources.files("famhp.rules").joinpath("data/entity-table.csv").read_text(encoding="utf-8")
    return parse_entity_table(text)


class _DatedTable(NamedTuple):
    first: int
    last: int | None
    table: EntityTable


@cache
def _dated_tables() -> tuple[_DatedTable, ...]:
    data = resources.files("famhp.rules").joinpath("data")
    text = data.joinpath("entity-tables.yaml").read_text(encoding="utf-8")
    document: dict[str, Any] = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # as parameters.py
    dated = []
    for entry in document["tables"]:
        parsed = parse_entity_table(data.joinpath(str(entry["file"])).read_text(encoding="utf-8"))
        table = EntityTable(
            cells=parsed.cells,
            categories=parsed.categories,
            confirmed=bool(entry["confirmed"]),
            source=" ".join(str(entry["source"]).split()),
        )
        last = entry.get("to")
        dated.append(_DatedTable(int(entry["from"]), None if last is None else int(last), table))
    return tuple(sorted(dated, key=lambda entry: entry.first))


def entity_table_for(year: int) -> EntityTable:
    """D11: the entity table of contribution ``year``, with whether it is confirmed for that year and its source.

    The table of the March 2024 FAQ applies to the years it was published for (2023, 2024); from 2025 on it is
    used as an unconfirmed parameter until the amended annex IX is checked. Raises :class:`UnknownYear` for a
    year before the first dated table. The same object is returned for every year of one dated entry.
    """
    for entry in _dated_tables():
        if entry.first <= year and (entry.last is None or year <= entry.last):
            return entry.table
    first = _dated_tables()[0].first
    raise UnknownYear(f"no entity table is encoded for the contribution year {year} (the first is {first}, D11)")


def parse_entity_table(text: str) -> EntityTable:
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    if header[0] != "category" or tuple(header[1:]) != ROLES:
        raise ValueError(f"unexpected entity-table header: {header}")
    cells: dict[tuple[str, str], int] = {}
    categories: list[str] = []
    for row in reader:
        if not row:
            continue
        category = row[0]
        categories.append(category)
        for role, cell in zip(ROLES, row[1:], strict=True):
            if cell.strip():
                cells[(category, role)] = int(cell)
    return EntityTable(cells=cells, categories=tuple(categories))


class EntityCount(NamedTuple):
    """The result of D1/D2 with the steps that produced it, for the explanation."""

    entities: int
    #: highest cell per role, in the order the roles first appear: (role, category, cell)
    per_role: tuple[tuple[str, str, int], ...]
    multi_role_bonus: bool
    foreign_reduction: bool
    self_control_reduction: bool
    unregistered: bool


def count_entities(
    *,
    activities: Iterable[tuple[str, str]],
    registered: bool,
    established_in_belgium: bool,
    self_control_guide: bool,
    table: EntityTable | None = None,
) -> EntityCount:
    """Annex IX, chapter III; FAQ 4 and 17; RULES.md D1 (count) and D2 (unregistered).

    D1: per role the highest cell over its categories; the highest over the roles; +1 once if there are two or
    more roles; −1 if not established in Belgium; −1 for a distributor that complies with the self-control
    guide (arts. 61–62 of the law of 15 December 2013); never below 0.
    D2: no registered activity means 9 entities, with no reduction.
    """
    if not registered:
        return EntityCount(MAX_ENTITIES_UNREGISTERED, (), False, False, False, True)
    table = table or entity_table()
    best: dict[str, tuple[str, int]] = {}
    cells = table.cells
    for role, category in activities:
        cell = cells.get((category, role))
        if cell is None:
            cell = table.entities(role, category)  # raises UnknownActivity with the reason
        current = best.get(role)
        if current is None or cell > current[1]:
            best[role] = (category, cell)
    if not best:
        raise UnknownActivity("a registered operator has at least one activity (else it is unregistered, D2)")
    count = max(cell for _, cell in best.values())
    multi_role = len(best) >= 2
    if multi_role:
        count += 1
    foreign = not established_in_belgium
    if foreign:
        count -= 1
    guide = self_control_guide and "distributor" in best
    if guide:
        count -= 1
    return EntityCount(
        entities=max(count, 0),
        per_role=tuple((role, category, cell) for role, (category, cell) in best.items()),
        multi_role_bonus=multi_role,
        foreign_reduction=foreign,
        self_control_reduction=guide,
        unregistered=False,
    )
