"""Charts drawn on the server as SVG (ADR 16): no script, no library to ship, and a table beside each chart
for screen readers and for those who want the figures. Coordinates are whole pixels computed with integers and
Decimals: a chart never rounds a figure it shows (labels carry the exact values)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

WIDTH, HEIGHT, AXIS, TOP, LEFT = 720, 220, 24, 12, 56


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    width: int
    height: int
    label: str
    value: Any
    text_x: int


@dataclass(frozen=True)
class Tick:
    y: int
    value: Any


@dataclass(frozen=True)
class BarChart:
    title: str
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    width: int
    height: int
    baseline: int
    left: int
    label_every: int
    unit: str

    @property
    def empty(self) -> bool:
        """Nothing to draw: no bar, or every value zero (an empty grid reads as a broken chart)."""
        return not any(bar.value for bar in self.bars)


def _nice_ceiling(value: Decimal) -> Decimal:
    """The axis's top: 1, 2, 2.5 or 5 times a power of ten, at or above the largest value."""
    if value <= 0:
        return Decimal(1)
    exponent = value.adjusted()
    for step in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10)):
        candidate = step.scaleb(exponent)
        if candidate >= value:
            return candidate
    return Decimal(10).scaleb(exponent)  # pragma: no cover - the loop ends at ten


def _pixels(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


def bar_chart(
    points: list[tuple[str, Any]], *, title: str, unit: str = "", width: int = WIDTH, height: int = HEIGHT
) -> BarChart:
    """One bar per point (label, value ≥ 0), scaled to the largest value."""
    plot_width, plot_height = width - LEFT - 8, height - AXIS - TOP
    top = _nice_ceiling(max((Decimal(v) for _l, v in points), default=Decimal(0)))
    if all(isinstance(v, int) for _l, v in points):  # counts: whole ticks (four steps), never "1.5 declarations"
        top = Decimal(max(4, -(-int(top) // 4) * 4))
    slot = Decimal(plot_width) / max(len(points), 1)
    gap = max(min(Decimal(8), slot / 5), slot - 48)  # a bar is at most 48 pixels wide, even alone
    baseline = TOP + plot_height
    bars = []
    for index, (label, value) in enumerate(points):
        bar_height = _pixels(Decimal(value) * plot_height / top)
        x = _pixels(LEFT + slot * index + gap / 2)
        bar_width = max(1, _pixels(slot - gap))
        bars.append(Bar(x, baseline - bar_height, bar_width, bar_height, label, value, x + bar_width // 2))
    ticks = tuple(
        Tick(_pixels(baseline - Decimal(plot_height) * step / 4), (top * step / 4).normalize()) for step in range(5)
    )
    label_every = max(1, len(points) // 8)
    return BarChart(title, tuple(bars), ticks, width, height, baseline, LEFT, label_every, unit)
