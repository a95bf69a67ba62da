"""`seed=...` makes CPU runs repeat exactly; another seed gives another run."""

from conftest import TINY


def metrics_without_time(run_dir):
    lines = (run_dir / "metrics.csv").read_text().splitlines()
    header = lines[0].split(",")
    keep = [i for i, name in enumerate(header) if name != "seconds"]
    return [[line.split(",")[i] for i in keep] for line in lines]


def run_once(cli, outputs, seed):
    before = set(outputs.rglob("results.json")) if outputs.exists() else set()
    assert cli("train", *TINY, f"seed={seed}", "regularization=dropout", "regularization.dropout=0.2").code == 0
    (new,) = set(outputs.rglob("results.json")) - before
    return new.parent


def test_same_seed_same_metrics_other_seed_other_metrics(cli, outputs):
    first, second, other = (run_once(cli, outputs, s) for s in (3, 3, 4))
    assert metrics_without_time(first) == metrics_without_time(second)
    assert metrics_without_time(first) != metrics_without_time(other)
