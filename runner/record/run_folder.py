"""A run folder's layout: the one place that knows what a run writes, under which name.

    results.json            how the run ended (runner/record/results.py)
    metrics.csv             one row per epoch (runner/record/metrics_file.py)
    train.log               the console, written by Hydra's logging
    <name>/events.out.tfevents.*   TensorBoard, in a folder named by what was overridden
                            (runner/record/run_name.py): TensorBoard's name for the run
    test_predictions.csv    label,predicted per test example (classifiers)
    vocab.json              token data (data=text): {"tokens": "char"|"word", "unknown": id, "itos": [token per id]}
    labels.json             labels given as names (data=text_classification): {"names": [label of class 0, 1, ...]}
    samples.txt             language models with trainer.sample_every: the text drawn, under a line per epoch
    error.txt               the exception of a sweep job that failed
    checkpoints/{last,best}.pt, and {last,best}.prev.pt: the files they replaced
    .hydra/{config,overrides}.yaml   the composed config and the command line (Hydra writes them)

Every file is rewritten atomically, so a reader never sees a torn file while the run goes on.
Readers here never raise for a damaged file unless they say so: they return None, or add a
"<file>: <what is wrong>" line to the `problems` they are given.
"""

import csv
import json
from pathlib import Path
from typing import List, Optional

from runner.config.data.text_classification import PADDING
from runner.errors import RunFault
from runner.io import atomic_write_json, atomic_write_text
from runner.record import metrics_file, overrides_file
from runner.record.metrics_file import MetricsUnreadable
from runner.record.results import Results
from runner.record.run_name import folder_name

RESULTS = "results.json"
METRICS = "metrics.csv"
TRAIN_LOG = "train.log"
TEST_PREDICTIONS = "test_predictions.csv"
VOCABULARY = "vocab.json"
LABELS = "labels.json"
SAMPLES = "samples.txt"
ERROR = "error.txt"  # written by the sweep manifest callback when a job raises
CHECKPOINTS = "checkpoints"
HYDRA = ".hydra"
EVENTS = "events.out.tfevents.*"
CHECKPOINT_NAMES = ("last", "best")

# What a run has written once it has trained (a folder with only .hydra/ and train.log has lost nothing
# if a new run starts over in it). A second run in such a folder is refused (runner/record/run_guard.py).
RUN_MARKERS = (RESULTS, METRICS, CHECKPOINTS)
# A run's own results, which trainer.overwrite=true deletes before the new run starts (.hydra/ and
# train.log are rewritten by Hydra itself). The text files too: samples.txt is appended to, and a
# stale labels.json would name another run's classes.
RUN_OUTPUTS = (RESULTS, METRICS, TEST_PREDICTIONS, ERROR, VOCABULARY, LABELS, SAMPLES)


class RunFolder:
    def __init__(self, path):
        self.path = Path(path)

    # ------------------------------------------------------------ where things are

    results_file = property(lambda self: self.path / RESULTS)
    metrics_file = property(lambda self: self.path / METRICS)
    train_log = property(lambda self: self.path / TRAIN_LOG)
    test_predictions_file = property(lambda self: self.path / TEST_PREDICTIONS)
    vocabulary_file = property(lambda self: self.path / VOCABULARY)
    labels_file = property(lambda self: self.path / LABELS)
    samples_file = property(lambda self: self.path / SAMPLES)
    error_file = property(lambda self: self.path / ERROR)
    checkpoints = property(lambda self: self.path / CHECKPOINTS)
    hydra = property(lambda self: self.path / HYDRA)
    config_file = property(lambda self: self.path / HYDRA / "config.yaml")
    overrides_file = property(lambda self: self.path / HYDRA / "overrides.yaml")

    def checkpoint(self, name: str) -> Path:
        """checkpoints/last.pt or checkpoints/best.pt (the .prev.pt beside each: checkpoint.previous_of)."""
        if name not in CHECKPOINT_NAMES:
            raise ValueError(f"no checkpoint named {name!r}: {' or '.join(CHECKPOINT_NAMES)}")
        return self.checkpoints / f"{name}.pt"

    def tensorboard_dir(self, name: str) -> Path:
        """Where the TensorBoard writer writes: <run folder>/<name> (no name: the run folder itself)."""
        return self.path / folder_name([name]) if name else self.path

    def events(self) -> List[Path]:
        """TensorBoard's files: in the named folder, and in the run folder itself (runs written before it)."""
        return sorted(self.path.glob(EVENTS)) + sorted(self.path.glob(f"*/{EVENTS}"))

    def is_run(self) -> bool:
        return self.overrides_file.exists() or self.results_file.exists()

    def markers(self) -> List[str]:
        """Which of RUN_MARKERS the folder holds (empty: no run has trained there)."""
        return [name for name in RUN_MARKERS if (self.path / name).exists()]

    # ------------------------------------------------------------ writing

    def write_results(self, results: Results) -> None:
        atomic_write_json(self.results_file, results.as_json())

    def write_metric_rows(self, rows: List[dict]) -> None:
        atomic_write_text(self.metrics_file, metrics_file.to_csv(rows))

    def write_test_predictions(self, labels: List[int], predicted: List[int]) -> None:
        lines = ["label,predicted"] + [f"{a},{b}" for a, b in zip(labels, predicted)]
        atomic_write_text(self.test_predictions_file, "\n".join(lines) + "\n")

    def write_vocabulary(self, itos: List[str], tokens: str) -> None:
        """The vocabulary of a run on token data: id i is itos[i]; id 0 the unknown token, and for
        texts cut or padded to one length (data=text_classification) the padding token's id."""
        padding = {"padding": list(itos).index(PADDING)} if PADDING in itos else {}
        atomic_write_json(self.vocabulary_file, {"tokens": tokens, "unknown": 0, **padding, "itos": list(itos)})

    def write_class_names(self, names: List[str]) -> None:
        """What each class number stands for, when the labels were names: class i is names[i]."""
        atomic_write_json(self.labels_file, {"names": list(names)})

    def add_sample(self, heading: str, text: str) -> None:
        """samples.txt with one more drawn text under `heading` (the whole file rewritten atomically)."""
        try:
            before = self.samples_file.read_text(encoding="utf-8")
        except OSError:
            before = ""
        atomic_write_text(self.samples_file, f"{before}=== {heading} ===\n{text}\n\n")

    # ------------------------------------------------------------ reading

    def class_names(self) -> Optional[List[str]]:
        """labels.json's names (class i is names[i]), or None when missing or not one."""
        try:
            names = json.loads(self.labels_file.read_text(encoding="utf-8")).get("names")
        except (OSError, ValueError, AttributeError):
            return None
        return names if isinstance(names, list) and all(isinstance(n, str) for n in names) else None

    def vocabulary(self) -> Optional[dict]:
        """vocab.json ({"tokens", "unknown", "itos"}), or None when missing or not one."""
        try:
            stored = json.loads(self.vocabulary_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if (
            not isinstance(stored, dict)
            or not isinstance(stored.get("itos"), list)
            or stored.get("tokens") not in ("char", "word")
        ):
            return None
        return stored

    def results_json(self) -> Optional[dict]:
        """results.json as a JSON object, whatever it says; None if missing or unreadable."""
        try:
            results = json.loads(self.results_file.read_text())
        except (OSError, ValueError):
            return None
        return results if isinstance(results, dict) else None

    def finished_results(self) -> Optional[dict]:
        """results.json of a run that finished (not one interrupted or preempted); None otherwise."""
        results = self.results_json()
        return results if results is not None and results.get("status") == "finished" else None

    def read_results(self, problems: List[str]) -> Optional[dict]:
        """results.json if it holds what a comparison needs (test, val, best_epoch); None, with a
        line in `problems` when it exists but does not."""
        file = self.results_file
        if not file.exists():
            return None
        try:
            results = json.loads(file.read_text())
        except (ValueError, OSError) as err:
            problems.append(f"{file}: not valid JSON ({metrics_file.one_line(err)}); run left out")
            return None
        if not isinstance(results, dict):
            problems.append(f"{file}: not a JSON object; run left out")
            return None
        missing = [key for key in ("test", "val") if not isinstance(results.get(key), dict)]
        missing += [] if "best_epoch" in results else ["best_epoch"]
        if missing:
            problems.append(f"{file}: missing {', '.join(missing)}; run left out")
            return None
        return results

    def metric_rows(self) -> List[dict]:
        """metrics.csv's rows as numbers, to continue the run from: RunFault (exit 2) if a row does not parse."""
        try:
            return metrics_file.read_strictly(self.metrics_file)
        except MetricsUnreadable as err:
            raise RunFault(
                f"{self.metrics_file}: not readable as this run's metrics ({err}); repair it, or move the folder away to start over",
                2,
            ) from None

    def metric_rows_to_show(self, problems: List[str]) -> List[dict]:
        """metrics.csv's rows, every value a float (NaN if blank); what is wrong goes into `problems`."""
        return metrics_file.read_leniently(self.metrics_file, problems, results_exist=self.results_file.exists())

    def overrides(self) -> List[str]:
        """The saved command line, to run again: ValueError naming the file if it is not a list of strings."""
        return overrides_file.read_strictly(self.overrides_file)

    def overrides_to_show(self, problems: List[str]) -> List[str]:
        return overrides_file.read_leniently(self.overrides_file, problems)

    def config(self):
        """.hydra/config.yaml as an OmegaConf node (OSError without one, an OmegaConf or YAML error if damaged)."""
        from omegaconf import OmegaConf

        return OmegaConf.load(self.config_file)

    def launch_folder(self) -> Optional[Path]:
        """The folder `runner train` was started in (Hydra's hydra.runtime.cwd in .hydra/hydra.yaml):
        where the run's relative paths were read from. None when the file does not say."""
        import yaml

        try:
            saved = yaml.safe_load((self.path / HYDRA / "hydra.yaml").read_text()) or {}
            cwd = saved["hydra"]["runtime"]["cwd"]
        except (OSError, yaml.YAMLError, KeyError, TypeError):
            return None
        return Path(cwd) if isinstance(cwd, str) and Path(cwd).is_absolute() else None

    def error(self) -> Optional[str]:
        """error.txt: the exception of a failed sweep job."""
        return self.error_file.read_text(errors="replace").strip() if self.error_file.exists() else None

    def test_predictions(self) -> Optional[tuple]:
        """(labels, predicted) from test_predictions.csv; None without the file."""
        if not self.test_predictions_file.exists():
            return None
        with open(self.test_predictions_file) as f:
            rows = list(csv.DictReader(f))
        return [int(r["label"]) for r in rows], [int(r["predicted"]) for r in rows]
