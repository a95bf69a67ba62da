"""trainer.diagnostics=true (runner/fit/diagnostics.py), through the real CLI on data=synthetic:
per-layer columns in metrics.csv, histograms and the first conv layer's filters in TensorBoard;
off, metrics.csv is what it was; on or off, the training itself is the same; resume keeps working."""

import csv
import math

from conftest import TINY, dies_at_epoch_call

import runner.fit.loop
from runner.record.run_log import METRIC_COLUMNS

CNN = ["data.image_size=12", "model=cnn", "model.conv=[{channels:6,kernel:5,pool:2}]", "model.fc=[16]"]
MLP = ["model.hidden_sizes=[8]"]
SAME = ["trainer.deterministic=true", "early_stopping=none"]  # deterministic kernels; all epochs


def rows_of(run_dir):
    with open(run_dir / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


def events_of(run_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (events,) = run_dir.rglob("events.out.tfevents.*")
    return EventAccumulator(str(events.parent), size_guidance={"histograms": 0, "images": 0, "scalars": 0}).Reload()


def train(cli, run_dir, *args):
    result = cli("train", *TINY, *SAME, f"hydra.run.dir={run_dir}", *args)
    assert result.code == 0, result.err[-2000:]
    return rows_of(run_dir)


def diagnostic_columns(row):
    return [c for c in row if c.startswith("diagnostics/")]


def test_cnn_with_diagnostics_logs_per_layer_norms_histograms_and_its_filters(cli, outputs):
    run_dir = outputs / "cnn"
    rows = train(cli, run_dir, *CNN, "trainer.epochs=2", "trainer.diagnostics=true")
    assert len(rows) == 2
    # Sequential: 0 the conv, 4 the hidden Linear, 6 the output layer (state_dict prefixes)
    layers = ["0", "4", "6"]
    expected = [f"diagnostics/{q}/{layer}" for layer in layers for q in ("grad_norm", "weight_norm", "update_ratio")]
    assert list(rows[0]) == [*METRIC_COLUMNS, *expected]
    for row in rows:
        values = [float(row[c]) for c in expected]
        assert all(math.isfinite(v) and v > 0 for v in values), row
        assert all(float(row[f"diagnostics/update_ratio/{layer}"]) < 1 for layer in layers)  # lr 0.5, 8 steps

    events = events_of(run_dir)
    scalars = events.Tags()["scalars"]
    assert {f"diagnostics/grad_norm/{layer}" for layer in layers} <= set(scalars)
    assert len(events.Scalars("diagnostics/weight_norm/0")) == 2  # one point an epoch
    histograms = set(events.Tags()["histograms"])
    assert {"diagnostics/weights/0.weight", "diagnostics/weights/6.bias"} <= histograms
    activations = {tag for tag in histograms if tag.startswith("diagnostics/activations/")}
    assert len(activations) == 2  # the conv's ReLU and the hidden layer's
    (hist,) = [h for h in events.Histograms(sorted(activations)[0]) if h.step == 2]
    assert hist.histogram_value.min >= 0 and hist.histogram_value.num == 32 * 6 * 8 * 8  # ReLU over one val batch (32)
    (image,) = [e for e in events.Images("diagnostics/filters/0") if e.step == 2]
    assert image.height >= 40 and image.width >= 6 * 40  # six 5x5 filters, each scaled up to 40x40 in one row


def test_off_leaves_metrics_csv_as_it_was_and_on_changes_no_training_number(cli, outputs):
    off = train(cli, outputs / "off", *MLP)
    on = train(cli, outputs / "on", *MLP, "trainer.diagnostics=true")
    assert list(off[0]) == list(METRIC_COLUMNS)
    assert not any(
        tag.startswith("diagnostics")
        for tags in events_of(outputs / "off").Tags().values()
        if isinstance(tags, list)
        for tag in tags
    )
    assert diagnostic_columns(on[0]) == [
        f"diagnostics/{q}/{layer}" for layer in ("1", "3") for q in ("grad_norm", "weight_norm", "update_ratio")
    ]  # fmt: skip  (Sequential: 0 Flatten, 1 the hidden Linear, 2 its activation, 3 the output layer)
    trained = [c for c in METRIC_COLUMNS if c != "seconds"]
    assert [[r[c] for c in trained] for r in on] == [[r[c] for c in trained] for r in off]
    assert (outputs / "on" / "test_predictions.csv").read_bytes() == (
        outputs / "off" / "test_predictions.csv"
    ).read_bytes()


def test_resume_after_a_cut_off_run_continues_the_diagnostics_columns(cli, outputs, monkeypatch):
    whole = train(cli, outputs / "whole", *MLP, "trainer.diagnostics=true")
    args = ["train", *TINY, *SAME, *MLP, "trainer.diagnostics=true", "trainer.resume=auto"]
    real_epoch = dies_at_epoch_call(3, monkeypatch)  # killed in the third epoch
    assert cli(*args, f"hydra.run.dir={outputs / 'cut'}").code != 0
    monkeypatch.setattr(runner.fit.loop, "train_epoch", real_epoch)
    assert len(rows_of(outputs / "cut")) == 2
    resumed = train(cli, outputs / "cut", *MLP, "trainer.diagnostics=true", "trainer.resume=auto")
    assert len(resumed) == 3 and list(resumed[0]) == list(whole[0])
    same = [c for c in whole[0] if c != "seconds"]
    assert [[r[c] for c in same] for r in resumed] == [[r[c] for c in same] for r in whole]


def test_diagnostics_switched_on_when_resuming_leave_the_earlier_rows_blank(cli, outputs, monkeypatch):
    args = ["train", *TINY, *SAME, *MLP, "trainer.resume=auto", f"hydra.run.dir={outputs / 'run'}"]
    real_epoch = dies_at_epoch_call(2, monkeypatch)
    assert cli(*args).code != 0
    monkeypatch.setattr(runner.fit.loop, "train_epoch", real_epoch)
    rows = train(cli, outputs / "run", *MLP, "trainer.resume=auto", "trainer.diagnostics=true")
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    columns = diagnostic_columns(rows[0])
    assert len(columns) == 6 and all(rows[0][c] == "" for c in columns)
    assert all(float(r[c]) > 0 for r in rows[1:] for c in columns)
    assert cli("compare", str(outputs)).code == 0


def test_a_diagnostics_value_that_is_not_a_bool_is_refused_in_one_line(cli, outputs):
    result = cli("train", *TINY, "trainer.diagnostics=maybe")
    assert result.code == 2
    (line,) = [line for line in result.err.splitlines() if line.strip()]
    assert line.startswith("runner: ") and "trainer.diagnostics" in line and "maybe" in line, line
    assert "Traceback" not in result.err and not outputs.exists()
