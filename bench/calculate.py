"""Benchmark of ``famhp calculate`` against the floor of merely reading and writing the same JSON in Python.

Builds inputs of 10,000 and 100,000 operators (fixed seed), then times, in the same run and as separate
processes started the same way:
- calculate: ``famhp calculate IN > OUT`` (explanation lines included, as the contract requires);
- floor: a plain Python script that reads the input JSON (``json.loads``) and writes it back (``json.dumps``);
- floor without GC: the same script with the cyclic garbage collector off, as ``famhp calculate`` runs
  (shown for reference: it is the cost of the JSON alone, without the collector's re-scans).
Each is run REPEAT times; the best wall-clock time of each is compared. Target (issue 2): at most 2x the floor
at 100,000 operators.

    .venv/bin/python bench/calculate.py [--sizes 10000 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from famhp.rules.entities import ROLES, entity_table  # noqa: E402

FLOOR = (
    "import json, sys\n"
    "with open(sys.argv[1], encoding='utf-8') as f: d = json.loads(f.read())\n"
    "with open(sys.argv[2], 'w', encoding='utf-8') as f: f.write(json.dumps(d))\n"
)


def build_input(size: int, seed: int = 2024) -> dict[str, object]:
    """A realistic year: mostly distributors and single-role operators, some foreign, some unregistered."""
    rng = random.Random(seed)
    table = entity_table()
    pairs_by_role = {role: [c for c in table.categories if (c, role) in table.cells] for role in ROLES}
    operators = []
    for index in range(size):
        roles = rng.sample(ROLES, k=rng.choices([1, 2, 3], weights=[70, 22, 8])[0])
        activities = [
            {"role": role, "category": category}
            for role in roles
            for category in rng.sample(pairs_by_role[role], k=rng.randint(1, 3))
        ]
        total = rng.choice([0, rng.randint(1, 4_000_000), rng.randint(1, 60_000)])
        cents = rng.randint(0, 99)
        total_turnover = f"{total}.{cents:02d}"
        levied = f"{rng.randint(0, total)}.00" if total else "0.00"
        operator: dict[str, object] = {
            "id": f"{1_000_000_000 + index:010d}",
            "established_in_belgium": rng.random() > 0.15,
            "active_in_belgium": rng.random() > 0.05,
            "activities": activities,
            "self_control_guide": "distributor" in roles and rng.random() > 0.5,
            "total_turnover": total_turnover,
            "levied_turnover": levied,
        }
        if rng.random() < 0.01:
            operator["registered"] = False
            operator["activities"] = []
        operators.append(operator)
    return {
        "year": 2024,
        "parameters": {"budget": "21500000", "cost_per_entity": None},
        "operators": operators,
    }


def best_of(command: list[str], repeat: int, stdout_path: Path | None = None) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        if stdout_path is None:
            subprocess.run(command, check=True)
        else:
            with stdout_path.open("wb") as out:
                subprocess.run(command, check=True, stdout=out)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    famhp = [sys.executable, "-m", "famhp.cli", "calculate"]
    print(f"famhp calculate vs. the JSON read+write floor, best of {args.repeat}, {sys.version.split()[0]}")
    print(
        f"{'operators':>10}  {'input MB':>8}  {'output MB':>9}  {'floor s':>8}  {'calculate s':>11}  {'ratio':>6}"
        f"  {'floor no-GC s':>13}  {'ratio':>6}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            source = Path(tmp, f"in-{size}.json")
            source.write_text(json.dumps(build_input(size)))
            target, copy = Path(tmp, f"out-{size}.json"), Path(tmp, f"copy-{size}.json")
            floor = best_of([sys.executable, "-c", FLOOR, str(source), str(copy)], args.repeat)
            bare = best_of(
                [sys.executable, "-c", "import gc; gc.disable()\n" + FLOOR, str(source), str(copy)], args.repeat
            )
            calc = best_of([*famhp, str(source)], args.repeat, stdout_path=target)
            result = json.loads(target.read_text())
            assert len(result["operators"]) == size and all(o["explanation"] for o in result["operators"])
            print(
                f"{size:>10,}  {source.stat().st_size / 1e6:>8.1f}  {target.stat().st_size / 1e6:>9.1f}  "
                f"{floor:>8.3f}  {calc:>11.3f}  {calc / floor:>5.2f}x  {bare:>13.3f}  {calc / bare:>5.2f}x"
            )


if __name__ == "__main__":
    main()
