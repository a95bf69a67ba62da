"""The checks as a table for people (<= 80 columns: the advice on its own line) or JSON."""

import json
import math
from typing import List

from runner.analyse.diagnose.checks import PROBLEM, Check

HEADER = ("check", "measured", "expected", "verdict")


def table(checks: List[Check], heading: str) -> str:
    rows = [(c.name, c.measured, c.expected, c.verdict) for c in checks]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEADER)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    out = [heading, "", line(HEADER), line(["-" * w for w in widths])]
    for check, row in zip(checks, rows):
        out += [line(row), f"  -> {check.advice}"]
    problems = sum(c.verdict == PROBLEM for c in checks)
    out += ["", f"{problems} problem(s), {sum(c.verdict == 'warning' for c in checks)} warning(s)"]
    return "\n".join(out)


def layer_table(checks: List[Check]) -> str:
    """Per weight tensor: the gradient RMS at init and the update/weight ratio."""
    by_name = {c.name: c for c in checks}
    grads = by_name["gradient ratio"].details.get("rms", {})
    updates = by_name["update/weight ratio"].details.get("ratios", {})
    names = list(grads) or list(updates)
    if not names:
        return ""
    width = max(len("layer"), *(len(n) for n in names))
    out = [f"{'layer'.ljust(width)}  {'grad rms':>10}  {'update ratio':>12}"]
    for name in names:
        grad, update = grads.get(name, math.nan), updates.get(name, math.nan)
        out.append(f"{name.ljust(width)}  {grad:>10.3g}  {update:>12.3g}")
    return "\n".join(out)


def as_json(checks: List[Check], about: dict) -> str:
    items = [{k: clean(v) for k, v in vars(c).items()} for c in checks]
    problems = sum(c.verdict == PROBLEM for c in checks)
    return json.dumps({**about, "checks": items, "problems": problems}, indent=2)


def clean(value):
    """JSON has no inf/nan: they become strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value
