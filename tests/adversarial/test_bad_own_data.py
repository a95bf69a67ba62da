"""Bad own data for data=arrays, csv and image_folder: missing files, wrong keys and shapes, labels
that are not class numbers, NaN, text in a numeric column, unreadable images, pickles in an .npz,
FIFOs, devices and folders where a file belongs. Each is refused by the preflight with one
`runner:` line naming the file (and the key, column or line), exit code 2, no traceback, no run
folder, nothing cached, the data left as they were, and no payload's marker file."""

import os
import subprocess
import sys

import numpy as np
import pytest
from adversarial_support import cache, canary, data, refused, refused_before_any_run, snapshot  # noqa: F401 (fixtures)
from PIL import Image

QUICK = ["trainer.epochs=1", "trainer.batch_size=8", "trainer.threads=1", "model=mlp", "model.hidden_sizes=[4]"]


def train(cli, member, *args):
    return cli("train", f"data={member}", *args, *QUICK)


def xy(n=40, features=3):
    return np.random.default_rng(0).normal(size=(n, features)).astype(np.float32), np.arange(n) % 2


class RunsCode:
    """Unpickled, this creates the marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').close()",))


# ---------------------------------------------------------------- data=arrays


def test_a_missing_file_is_named(cli, data, cache):
    missing = data / "nope.npz"
    line = refused_before_any_run(
        train(cli, "arrays", f"data.path={missing}"), cache, data, {}, "data.path", str(missing)
    )
    assert "does not exist" in line


def test_an_npz_without_x_or_y_lists_the_keys_it_has(cli, data, cache):
    x, y = xy()
    np.savez(data / "d.npz", inputs=x, targets=y)
    before = snapshot(data)
    line = refused_before_any_run(
        train(cli, "arrays", f"data.path={data / 'd.npz'}"), cache, data, before, str(data / "d.npz")
    )
    assert "has no array 'x' or 'y' (it holds: inputs, targets)" in line, line


@pytest.mark.parametrize(
    "labels, says",
    [
        (np.arange(40) % 2 + 0.5, "labels are integers 0..C-1"),
        (np.arange(40) % 2 - 1, "label -1 at index 0 is negative"),
        (np.arange(40) % 3, "label 2 is outside 0..1 (data.num_classes=2)"),
        (np.zeros(40, np.int64), "every label is 0"),
    ],
    ids=["float", "negative", "above-num_classes", "one-class"],
)
def test_labels_that_are_not_class_numbers_are_refused(cli, data, cache, labels, says):
    x, _ = xy()
    np.savez(data / "d.npz", x=x, y=labels)
    extra = ["data.num_classes=2"] if "num_classes" in says else []
    before = snapshot(data)
    result = train(cli, "arrays", f"data.path={data / 'd.npz'}", *extra)
    refused_before_any_run(result, cache, data, before, str(data / "d.npz"), says)


def test_a_given_split_with_a_label_out_of_range_is_named(cli, data, cache):
    x, y = xy()
    np.savez(data / "d.npz", x=x, y=y, x_val=x[:5], y_val=np.array([0, 1, 0, 1, 2]), x_test=x[:5], y_test=y[:5])
    before = snapshot(data)
    result = train(cli, "arrays", f"data.path={data / 'd.npz'}", "data.num_classes=2")
    refused_before_any_run(result, cache, data, before, "'y_val'", "label 2")


def test_nan_or_infinity_in_the_inputs_names_the_example(cli, data, cache):
    x, y = xy()
    x[17, 1] = np.nan
    x[30, 0] = np.inf
    np.savez(data / "d.npz", x=x, y=y)
    before = snapshot(data)
    result = train(cli, "arrays", f"data.path={data / 'd.npz'}")
    refused_before_any_run(result, cache, data, before, str(data / "d.npz"), "'x'", "example 17", "NaN")


def test_mismatched_lengths_of_x_and_y_are_refused(cli, data, cache):
    x, y = xy()
    np.save(data / "x.npy", x)
    np.save(data / "y.npy", y[:-3])
    before = snapshot(data)
    result = train(cli, "arrays", f"data.path={data / 'x.npy'}", f"data.labels={data / 'y.npy'}")
    refused_before_any_run(result, cache, data, before, "holds 40 examples but 'y' 37 labels")


def test_a_given_split_of_another_shape_is_refused(cli, data, cache):
    x, y = xy()
    np.savez(data / "d.npz", x=x, y=y, x_val=x[:5, :2], y_val=y[:5])
    before = snapshot(data)
    result = train(cli, "arrays", f"data.path={data / 'd.npz'}")
    refused_before_any_run(result, cache, data, before, "'x_val' holds inputs of shape (2,), 'x' of shape (3,)")


def test_an_npz_holding_a_pickle_is_refused_and_its_payload_never_runs(cli, data, cache, canary):
    x, y = xy()
    np.savez(data / "d.npz", x=np.array([RunsCode(canary)] * 40, dtype=object), y=y)
    before = snapshot(data)
    result = train(cli, "arrays", f"data.path={data / 'd.npz'}")
    refused_before_any_run(result, cache, data, before, str(data / "d.npz"), "Python objects")
    np.save(data / "y.npy", np.array([RunsCode(canary)] * 40, dtype=object))  # the labels too (a pair of .npy)
    np.save(data / "x.npy", x)
    before = snapshot(data)
    result = train(cli, "arrays", f"data.path={data / 'x.npy'}", f"data.labels={data / 'y.npy'}")
    refused_before_any_run(result, cache, data, before, str(data / "y.npy"), "Python objects")
    assert not canary.exists(), "the pickle ran"


def test_a_file_that_is_not_an_npz_is_named(cli, data, cache):
    (data / "d.npz").write_bytes(b"PK\x03\x04 not really a zip" * 10)
    before = snapshot(data)
    result = train(cli, "arrays", f"data.path={data / 'd.npz'}")
    refused_before_any_run(result, cache, data, before, str(data / "d.npz"), "not a readable .npz")


def test_a_folder_where_a_file_belongs_is_refused(cli, data, cache):
    line = refused_before_any_run(train(cli, "arrays", f"data.path={data}"), cache, data, {}, str(data), "is a folder")
    assert "data.path" in line


@pytest.mark.parametrize("member", ["arrays", "csv"])
@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_a_fifo_or_a_device_is_refused_without_opening_it(cli_process, data, cache, member, special):
    """In a subprocess with a timeout: opening either would block or read forever."""
    path = data / "pipe" if special == "fifo" else special
    if special == "fifo":
        os.mkfifo(path)
    before = snapshot(data)
    result = cli_process("train", f"data={member}", f"data.path={path}", *QUICK, timeout=120)
    refused_before_any_run(result, cache, data, before, str(path), "not a regular file")


# ---------------------------------------------------------------- data=csv


def write_table(path, header, rows):
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def table_rows(n=30):
    return [f"{i * 0.1:.1f},{i % 3},{i % 2}" for i in range(n)]


@pytest.mark.parametrize(
    "change, says",
    [
        ((5, "0.5,abc,1"), "line 7: column 'b' is not numeric: it holds 'abc'"),
        ((9, "nan,1,0"), "line 11: column 'a' holds 'nan'"),
        ((3, "0.3,inf,0"), "line 5: column 'b' holds 'inf'"),
        ((12, "0.1,2,one"), "line 14: label column 'label' holds 'one'"),
        ((4, "0.1,2,1.5"), "line 6: label column 'label' holds '1.5'"),
        ((20, "0.1,2"), "line 22: 2 cells, but the header names 3 columns"),
    ],
    ids=["text", "nan", "inf", "text-label", "fractional-label", "short-row"],
)
def test_a_bad_cell_is_named_by_its_line_and_column(cli, data, cache, change, says):
    rows = table_rows()
    rows[change[0]] = change[1]
    path = write_table(data / "t.csv", "a,b,label", rows)
    before = snapshot(data)
    result = train(cli, "csv", f"data.path={path}")
    refused_before_any_run(result, cache, data, before, str(path), says)


def test_a_label_above_num_classes_is_named_by_its_line(cli, data, cache):
    path = write_table(data / "t.csv", "a,b,label", table_rows())  # column b: 0, 1, 2, 0, ... from line 2
    before = snapshot(data)
    result = train(cli, "csv", f"data.path={path}", "data.num_classes=2", "data.label=b")
    refused_before_any_run(result, cache, data, before, str(path), "line 4: label 2 is outside 0..1")


def test_a_missing_label_column_lists_the_columns(cli, data, cache):
    path = write_table(data / "t.csv", "a,b,class", table_rows())
    before = snapshot(data)
    result = train(cli, "csv", f"data.path={path}")
    refused_before_any_run(result, cache, data, before, "data.label", "no column 'label' (its columns: a, b, class)")


def test_a_binary_file_as_csv_is_named(cli, data, cache):
    (data / "t.csv").write_bytes(b"a,b,label\n\xff\xfe\x00\x01,2,3\n")
    before = snapshot(data)
    result = train(cli, "csv", f"data.path={data / 't.csv'}")
    refused_before_any_run(result, cache, data, before, str(data / "t.csv"), "UTF-8")


# ---------------------------------------------------------------- data=image_folder


def write_images(root, classes=("a", "b"), per_class=4):
    for c in classes:
        (root / c).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            Image.new("RGB", (6 + i, 5), (40 * i, 0, 0)).save(root / c / f"{i}.png")
    return root


def images(cli, root, *more):
    return train(cli, "image_folder", f"data.path={root}", "data.image_size=4", *more)


def test_an_image_folder_with_one_class_is_refused(cli, data, cache):
    root = write_images(data / "images", classes=("only",))
    before = snapshot(data)
    refused_before_any_run(images(cli, root), cache, data, before, str(root), "1 class folder (only)")


def test_an_unreadable_image_is_named(cli, data, cache):
    root = write_images(data / "images")
    (root / "b" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    truncated = (root / "a" / "0.png").read_bytes()
    (root / "a" / "cut.png").write_bytes(truncated[: len(truncated) // 2])
    before = snapshot(data)
    result = images(cli, root)
    refused_before_any_run(result, cache, data, before, str(root / "a" / "cut.png"), "not a readable image")


def test_an_empty_class_folder_is_named(cli, data, cache):
    root = write_images(data / "images")
    (root / "c").mkdir()
    (root / "c" / "notes.txt").write_text("no images here")
    before = snapshot(data)
    refused_before_any_run(images(cli, root), cache, data, before, str(root / "c"), "holds no images")


def test_a_linked_image_pointing_at_a_fifo_is_refused_without_opening_it(data, cache, outputs):
    root = write_images(data / "images")
    os.mkfifo(data / "pipe")
    os.symlink(data / "pipe", root / "a" / "pipe.png")
    command = [sys.executable, "-m", "runner", "train", "data=image_folder", f"data.path={root}", "data.image_size=4"]
    before = snapshot(data)
    done = subprocess.run(
        [*command, *QUICK],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "RUNNER_OUTPUTS": str(outputs)},
    )

    class Result:
        code, err, out = done.returncode, done.stderr, done.stdout

    Result.outputs = outputs
    refused_before_any_run(Result, cache, data, before, str(root / "a" / "pipe.png"), "not a regular file")


def test_a_file_where_the_image_folder_belongs_is_refused(cli, data, cache):
    (data / "f.png").write_bytes(b"x")
    before = snapshot(data)
    refused_before_any_run(images(cli, data / "f.png"), cache, data, before, "is not a folder")


# ---------------------------------------------------------------- data changed between the check and the run


def test_data_that_go_bad_after_the_check_are_refused_in_one_line_by_the_run(cli, data, cache, monkeypatch):
    """The preflight read good data; the run finds NaN (the file changed in between, or a job on
    another machine reads another copy): the same one line and exit code 2, from inside the run."""
    import runner.build.data.own_data as own_data

    x, y = xy()
    x[3, 0] = np.nan
    np.savez(data / "d.npz", x=x, y=y)
    monkeypatch.setattr(own_data, "CHECKERS", {})  # as if the preflight had seen the good file
    result = train(cli, "arrays", f"data.path={data / 'd.npz'}")
    line = refused(result, "runner: config error: data.path", str(data / "d.npz"), "example 3")
    assert not list(result.outputs.rglob("results.json")), line  # a run folder with its config, no results


def npy_declaring(shape, payload=b"\0" * 16) -> bytes:
    """A .npy whose header declares `shape` float64 values, followed by `payload` alone."""
    import io

    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return out.getvalue() + payload


def test_a_header_declaring_more_than_the_file_holds_is_refused_before_numpy_allocates_it(cli, data, cache):
    """numpy allocates a member's declared size before reading it: 10^12 values from 16 bytes."""
    import zipfile

    _, y = xy()
    with zipfile.ZipFile(data / "d.npz", "w") as archive:
        archive.writestr("x.npy", npy_declaring((10**12,)))
        with archive.open("y.npy", "w") as f:
            np.save(f, y)
    (data / "x.npy").write_bytes(npy_declaring((40, 10**9)))
    np.save(data / "y.npy", y)
    before = snapshot(data)
    line = refused_before_any_run(
        train(cli, "arrays", f"data.path={data / 'd.npz'}"), cache, data, before, "array 'x'", "declares"
    )
    assert "8,000,000,000,000 bytes" in line and "but 16 bytes follow" in line, line
    line = refused_before_any_run(
        train(cli, "arrays", f"data.path={data / 'x.npy'}", f"data.labels={data / 'y.npy'}"),
        cache,
        data,
        before,
        "x.npy",
    )
    assert "declares (40, 1000000000)" in line, line


def test_an_npz_that_decompresses_beyond_memory_is_refused_before_reading(cli, data, cache, monkeypatch):
    """A zip bomb, scaled down: this machine's memory made 1 MB, an archive of 3 MB of zeros (a few KB on disk)."""
    monkeypatch.setattr("runner.config.data.own_files.physical_memory", lambda: 1_000_000)
    np.savez_compressed(data / "bomb.npz", x=np.zeros((1000, 375), np.float64), y=np.arange(1000) % 2)
    assert (data / "bomb.npz").stat().st_size < 100_000
    before = snapshot(data)
    line = refused_before_any_run(
        train(cli, "arrays", f"data.path={data / 'bomb.npz'}"), cache, data, before, "decompresses to", "zip bomb"
    )
    assert "more than this machine's memory (1,000,000 bytes)" in line, line
