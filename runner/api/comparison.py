"""runner.compare: `runner compare PATH...` from Python, the same numbers (compare_folders)."""

from dataclasses import dataclass
from pathlib import Path
from typing import List

from runner.api.errors import ConfigError
from runner.api.run import Run


@dataclass
class Comparison:
    table: List[dict]  # one row per group, the columns of comparison.csv
    tests: List[dict]  # each group against the best one: Welch's test as comparison.md reports it
    figures: List[Path]  # the plots written beside comparison.md
    markdown: str  # comparison.md
    folder: Path  # where comparison.md, .csv and the plots are

    def frame(self):
        """The table as a pandas DataFrame (pandas installed)."""
        import pandas

        return pandas.DataFrame(self.table)

    def _repr_markdown_(self) -> str:  # Jupyter shows the report
        return self.markdown


TEST_COLUMNS = ("group", "n", "test_acc_mean", "diff_vs_best", "diff_ci_low", "diff_ci_high", "p_vs_best")


def compare(
    *paths_or_runs, sort: str = "test_acc_mean", pool=(), include_diverged: bool = False, out=None
) -> Comparison:
    """Sweep folders, run folders or Run objects (of train/sweep/load), compared as `runner compare` does."""
    from runner.analyse.compare import CompareError, compare_folders

    paths = [p.dir if isinstance(p, Run) else Path(p) for p in paths_or_runs]
    if not paths:
        raise ConfigError("runner.compare: give sweep folders, run folders or Runs")
    try:
        result = compare_folders(paths, sort, None, pool, include_diverged, Path(out) if out else None)
    except CompareError as err:
        raise ConfigError(f"runner compare: {err}") from None
    table = [{k: v for k, v in row.items() if not k.startswith("_")} for row in result.rows]
    tests = [{k: row.get(k) for k in TEST_COLUMNS if k in row} for row in table]
    return Comparison(table, tests, [result.out / f for f in result.plots.files], result.report, result.out)
