"""Benchmark of ``famhp calculate`` against the floor of merely reading and writing the same JSON in Python.

Builds inputs of 10,000 and 100,000 operators (fixed seed), then times, in the same run and as separate
processes started the same way:
- calculate: ``famhp calculate IN > OUT`` (explanation lines included, as the contract requires);
- floor: a plain Python script that reads the input JSON (``json.loads``) and writes it back (``json.dumps``);
- floor without GC: the same script with the cyclic garbage collector off, as ``famhp calculate`` runs
  (shown for reference: it is the cost of the JSON alone, without the collector's re-scans).
Each is run REPEAT times; the best wall-clock time and the best CPU time (user + system) of each are compared,
for each shape of input (SHAPES). Target (issues 2 and 15): at most 2x the floor at 100,000 operators, for every
shape.

    .venv/bin/python bench/calculate.py [--sizes 10000 100000] [--shapes mixed one many] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from bench.machine import Clock, describe  # noqa: E402
from famhp.rules.entities import ROLES, entity_table  # noqa: E402

FLOOR = (
    "import json, sys\n"
    "with open(sys.argv[1], encoding='utf-8') as f: d = json.loads(f.read())\n"
    "with open(sys.argv[2], 'w', encoding='utf-8') as f: f.write(json.dumps(d))\n"
)


#: the shapes of input measured (issue 15: "for inputs of every shape"): ``mixed`` is a realistic year (1 to 3
#: roles, 1 to 3 categories each: 2.6 activities an operator on average), ``one`` one activity an operator (the
#: least JSON for the most operators: the per-operator cost shows), ``bare`` the same with every field at its
#: default left out (id, activities and the two figures), ``many`` 4 roles × up to 6 categories
SHAPES = ("mixed", "one", "bare", "many")
#: the fields an operator of the ``bare`` shape leaves out when they hold their default (contracts/calculate.md)
DEFAULTS = {"established_in_belgium": True, "active_in_belgium": True, "self_control_guide": False}


def build_input(size: int, seed: int = 2024, shape: str = "mixed") -> dict[str, object]:
    """A realistic year: mostly distributors and single-role operators, some foreign, some unregistered."""
    rng = random.Random(seed)
    table = entity_table()
    pairs_by_role = {role: [c for c in table.categories if (c, role) in table.cells] for role in ROLES}
    operators = []
    for index in range(size):
        if shape in {"one", "bare"}:
            role = rng.choice(ROLES)
            roles, activities = [role], [{"role": role, "category": rng.choice(pairs_by_role[role])}]
        elif shape == "many":
            roles = rng.sample(ROLES, k=min(4, len(ROLES)))
            activities = [
                {"role": role, "category": category}
                for role in roles
                for category in rng.sample(pairs_by_role[role], k=min(6, len(pairs_by_role[role])))
            ]
        else:
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
        if shape == "bare":
            operator = {key: value for key, value in operator.items() if key not in DEFAULTS or DEFAULTS[key] != value}
        operators.append(operator)
    return {
        "year": 2024,
        "parameters": {"budget": "21500000", "cost_per_entity": None},
        "operators": operators,
    }


def best_of(command: list[str], repeat: int, stdout_path: Path | None = None) -> Clock:
    """The best wall time and the best CPU time (user + system of the child) of ``repeat`` runs: on a machine
    loaded by other work the CPU time is the steadier figure."""
    walls, cpus = [], []
    for _ in range(repeat):
        start = Clock.now()
        if stdout_path is None:
            subprocess.run(command, check=True)
        else:
            with stdout_path.open("wb") as out:
                subprocess.run(command, check=True, stdout=out)
        spent = start.since()
        walls.append(spent.wall)
        cpus.append(spent.cpu)
    return Clock(min(walls), min(cpus))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--shapes", nargs="+", choices=SHAPES, default=list(SHAPES))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    famhp = [sys.executable, "-m", "famhp.cli", "calculate"]
    print(describe("none (JSON files)"))
    print(f"famhp calculate vs. the JSON read+write floor, best of {args.repeat} (wall and CPU = user + system)")
    print(
        f"{'shape':>6}  {'operators':>9}  {'in MB':>5}  {'out MB':>6}  {'floor s':>7}  {'calc s':>6}  {'ratio':>6}"
        f"  {'floor CPU':>9}  {'calc CPU':>8}  {'ratio':>6}  {'no-GC floor CPU':>15}  {'ratio':>6}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for shape in args.shapes:
            for size in args.sizes:
                source = Path(tmp, f"in-{shape}-{size}.json")
                source.write_text(json.dumps(build_input(size, shape=shape)))
                target, copy = Path(tmp, f"out-{size}.json"), Path(tmp, f"copy-{size}.json")
                floor = best_of([sys.executable, "-c", FLOOR, str(source), str(copy)], args.repeat)
                bare = best_of(
                    [sys.executable, "-c", "import gc; gc.disable()\n" + FLOOR, str(source), str(copy)], args.repeat
                )
                calc = best_of([*famhp, str(source)], args.repeat, stdout_path=target)
                result = json.loads(target.read_text())
                assert len(result["operators"]) == size and all(o["explanation"] for o in result["operators"])
                print(
                    f"{shape:>6}  {size:>9,}  {source.stat().st_size / 1e6:>5.1f}  {target.stat().st_size / 1e6:>6.1f}"
                    f"  {floor.wall:>7.3f}  {calc.wall:>6.3f}  {calc.wall / floor.wall:>5.2f}x"
                    f"  {floor.cpu:>9.3f}  {calc.cpu:>8.3f}  {calc.cpu / floor.cpu:>5.2f}x"
                    f"  {bare.cpu:>15.3f}  {calc.cpu / bare.cpu:>5.2f}x",
                    flush=True,
                )


if __name__ == "__main__":
    main()
