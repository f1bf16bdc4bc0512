"""Problems with the input of a calculation, each naming the operator and the field it is about."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["InvalidInput", "Problem"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the input. ``operator`` is None for a problem of the year or its parameters."""

    field: str
    message: str
    operator: str | None = None

    def __str__(self) -> str:
        where = (
            f"operator {self.operator!r}, field {self.field!r}"
            if self.operator is not None
            else (f"field {self.field!r}")
        )
        return f"{where}: {self.message}"


class InvalidInput(ValueError):
    """The input cannot be computed; ``problems`` lists every reason found, in input order."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(p) for p in self.problems))
