"""The package's floors (README, "Layout"): imports go only downward, read from the code itself.

    launch    6   the Hydra app, preflight, sweeps, reproduce
    analyse   5   compare, stats, plots, evaluate, gradcheck, reports (never fit)
    fit       4   the loop and its runtime
    build     3   datasets, models, tasks, losses, optimizers, schedulers, regularization, stopping
    record    2   run folders, checkpoints, logs
    config    1   schemas, validation, refusal policy
    bottom    0   errors.py, paths.py, registry.py, io.py
runner/cli.py (and __main__.py), runner/api/ (runner.train, sweep, load, compare: the same launch
from Python) and the package's front door (runner/__init__.py, which hands out runner.api's names
on first use) stand above them all."""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "runner"
FLOORS = {"config": 1, "record": 2, "build": 3, "fit": 4, "analyse": 5, "launch": 6}
TOP = {"cli", "__main__", "api", "__init__"}  # __init__: runner/__init__.py itself
# Imports that still climb, each with the reason; issue #20 removes them one by one. The test
# fails on a climb missing from this table, and on an entry that no longer climbs (so the
# table only shrinks).
KNOWN_CLIMBS = {}


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__")


def floor_of(module: str) -> int:
    head = module.split(".")[0]
    if head in TOP:
        return 7
    return FLOORS.get(head, 0)


def imported_modules(path: Path):
    """Every runner module `path` imports, at the top or inside a function, as `floor.module`."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [
                f"{node.module}.{a.name}"
                if node.module in ("runner", *(f"runner.{f}" for f in FLOORS))
                else node.module
                for a in node.names
            ]
        else:
            continue
        for name in names:
            if name.startswith("runner."):
                parts = name.split(".")[1:]
                yield ".".join(parts[:2]) if parts[0] in FLOORS else parts[0]


def climbs():
    found = set()
    for path in PACKAGE.rglob("*.py"):
        importer = module_name(path)
        for imported in imported_modules(path):
            climbing = floor_of(imported) > floor_of(importer)
            analyse_reads_fit = importer.startswith("analyse") and imported.startswith("fit")
            if climbing or analyse_reads_fit:
                found.add((".".join(importer.split(".")[:2]), imported))
    return found


def test_every_module_lies_on_a_floor():
    flat = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert flat == ["__init__.py", "__main__.py", "cli.py", "errors.py", "io.py", "paths.py", "registry.py"]


def test_imports_go_only_downward_except_the_known_climbs():
    found = climbs()
    new = sorted(found - set(KNOWN_CLIMBS))
    gone = sorted(set(KNOWN_CLIMBS) - found)
    assert not new, f"imports that climb a floor: {new}"
    assert not gone, f"no longer climbing, remove from KNOWN_CLIMBS: {gone}"


def test_the_config_floor_imports_no_torch():
    code = "import runner.config.schema, runner.config.policy, sys; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
