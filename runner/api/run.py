"""A run folder as an object: its config, results.json and metrics.csv, read through runner/record/."""

from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Union

from runner.config.metric_names import TRAIN_LOSS, VAL_LOSS
from runner.record.run_folder import RunFolder
from runner.record.run_folders import is_run_folder, read_run

DEFAULT_CURVES = (TRAIN_LOSS, VAL_LOSS)


@dataclass(frozen=True)
class Run:
    dir: Path

    @property
    def config(self) -> dict:
        """The composed config the run trained with (.hydra/config.yaml), as plain dicts and lists."""
        from omegaconf import OmegaConf

        return OmegaConf.to_container(RunFolder(self.dir).config(), resolve=True)

    @property
    def results(self) -> Optional[dict]:
        """results.json (None while the run has not written it)."""
        return RunFolder(self.dir).results_json()

    @property
    def metrics(self) -> List[dict]:
        """metrics.csv's rows, one per epoch, numbers as floats."""
        return read_run(self.dir).metrics

    @property
    def status(self) -> str:
        """finished | interrupted | preempted | failed | unfinished (as `runner compare` says)."""
        return read_run(self.dir).status

    def frame(self):
        """metrics.csv as a pandas DataFrame (pandas is not a dependency of runner: install it)."""
        try:
            import pandas
        except ImportError:
            raise ImportError("Run.frame() needs pandas: pip install pandas (Run.metrics gives the rows)") from None
        return pandas.DataFrame(self.metrics)

    def plot(self, metric: Union[str, Sequence[str]] = DEFAULT_CURVES):
        """A matplotlib Figure of metrics.csv's columns against the epoch."""
        from matplotlib.figure import Figure

        names = [metric] if isinstance(metric, str) else list(metric)
        rows = self.metrics
        missing = [n for n in names if rows and n not in rows[0]]
        if missing:
            raise KeyError(f"{self.dir}/metrics.csv has no column {', '.join(missing)} (it has: {', '.join(rows[0])})")
        figure = Figure(figsize=(6, 3.5))
        axes = figure.subplots()
        for name in names:
            axes.plot([r["epoch"] for r in rows], [r[name] for r in rows], marker="o", label=name)
        axes.set_xlabel("epoch")
        axes.set_title(self.dir.name)
        axes.legend()
        figure.tight_layout()
        return figure

    def __repr__(self) -> str:
        results = self.results or {}
        test = results.get("test") or {}
        shown = ", ".join(f"test {k} {v:.4g}" for k, v in test.items() if isinstance(v, float))
        return f"Run({str(self.dir)!r}, {self.status}{', ' + shown if shown else ''})"


def load(run_dir) -> Run:
    """Any run folder (finished, interrupted, or one of a sweep's points)."""
    folder = Path(run_dir)
    if not folder.is_dir() or not is_run_folder(folder):
        raise FileNotFoundError(f"{folder}: not a run folder (no .hydra/overrides.yaml or results.json)")
    return Run(folder.resolve())
