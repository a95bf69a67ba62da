"""Bad dataset files for data=fashion_mnist, kmnist and cifar10: missing, damaged, lying headers,
pickles that run code, archives that reach outside their folder, FIFOs. Each is refused by the
preflight with one `runner:` line naming the file, exit code 2, no traceback, no run folder, and
no payload's marker file."""

import gzip
import os
import pickle
import tarfile

import pytest
from adversarial_support import canary, refused  # noqa: F401 (canary: a fixture)
from dataset_files import cifar_batches, write_cifar_folder, write_cifar_tar, write_idx

QUICK = ["trainer.epochs=1", "trainer.batch_size=4", "trainer.threads=1", "model=mlp", "model.hidden_sizes=[4]"]


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNNER_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def train(cli, data: str, root, *more):
    return cli("train", f"data={data}", f"data.root={root}", "data.val_size=2", *QUICK, *more)


def refused_before_any_run(result, cache, *words) -> str:
    line = refused(result, *words)
    assert not list(result.outputs.rglob(".hydra")) if result.outputs.exists() else True, "a run folder was made"
    assert not list(cache.glob("*.pt")) if cache.exists() else True, "something was cached"
    return line


class RunsCode:
    """Unpickled by plain pickle, this creates the marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


# ---------------------------------------------------------------- missing files


@pytest.mark.parametrize(
    "data, names", [("fashion_mnist", "train-images-idx3-ubyte.gz"), ("cifar10", "cifar-10-python.tar.gz")]
)
@pytest.mark.parametrize("where", ["missing_root", "empty_root"])
def test_missing_files_name_what_is_expected_and_the_download(cli, tmp_path, cache, data, names, where):
    root = tmp_path / "data"
    if where == "empty_root":
        root.mkdir()
    line = refused_before_any_run(train(cli, data, root), cache, "data.root", str(root), names, "data.download=true")
    assert ("does not exist" if where == "missing_root" else "holds none of them") in line, line


def test_one_missing_idx_file_is_named(cli, tmp_path, cache):
    paths = write_idx(tmp_path / "fm")
    paths["test_y"].unlink()
    line = refused_before_any_run(train(cli, "kmnist", tmp_path / "fm"), cache, "KMNIST/raw", "data.download=true")
    assert line.endswith(
        f"and {tmp_path / 'fm'} lacks t10k-labels-idx1-ubyte.gz; put them there, set data.root to their folder, or set data.download=true (needs internet)"
    ), line


def test_one_missing_cifar_batch_is_named(cli, tmp_path, cache):
    (write_cifar_folder(tmp_path / "c10") / "data_batch_4").unlink()
    refused_before_any_run(train(cli, "cifar10", tmp_path / "c10"), cache, "cifar-10-batches-py lacks data_batch_4;")


def test_a_root_that_is_a_file_is_not_a_folder(cli, tmp_path, cache):
    (tmp_path / "file").write_text("x")
    refused_before_any_run(train(cli, "cifar10", tmp_path / "file"), cache, "is not a folder")


# ---------------------------------------------------------------- damaged IDX files


def damage_idx(paths, how):
    target = paths["train_x"]
    if how == "not_gzip":
        target.write_bytes(os.urandom(500))
    elif how == "truncated_gzip":
        target.write_bytes(target.read_bytes()[:-40])
    elif how in ("wrong_magic", "count_does_not_match_size"):
        raw = bytearray(gzip.decompress(target.read_bytes()))
        if how == "wrong_magic":
            raw[0:4] = (2049).to_bytes(4, "big")  # a labels file's magic on the images
        else:
            raw[4:8] = (13).to_bytes(4, "big")  # says 13 images, holds 12
        target.write_bytes(gzip.compress(bytes(raw)))
    elif how == "label_out_of_range":
        labels = bytearray(gzip.decompress(paths["train_y"].read_bytes()))
        labels[8 + 3] = 12
        paths["train_y"].write_bytes(gzip.compress(bytes(labels)))
        return paths["train_y"]
    elif how == "fewer_labels_than_images":
        labels = gzip.decompress(paths["train_y"].read_bytes())
        paths["train_y"].write_bytes(gzip.compress((11).to_bytes(4, "big").join([labels[:4], labels[8:-1]])))
    return target


@pytest.mark.parametrize(
    "how, says",
    [
        ("not_gzip", "cannot be read"),
        ("truncated_gzip", "cannot be read"),
        ("wrong_magic", "magic number 2049, expected 2051"),
        ("count_does_not_match_size", "13 x 28 x 28"),
        ("label_out_of_range", "label 12 at index 3 is outside 0..9"),
        ("fewer_labels_than_images", "11 labels"),
    ],
)
def test_a_damaged_idx_file_is_named(cli, tmp_path, cache, how, says):
    paths = write_idx(tmp_path / "fm")
    target = damage_idx(paths, how)
    refused_before_any_run(train(cli, "fashion_mnist", tmp_path / "fm"), cache, str(target), says)


# ---------------------------------------------------------------- CIFAR-10: pickles and archives


@pytest.mark.parametrize("form", ["folder", "archive"])
def test_a_pickle_that_runs_code_is_refused_without_running_it(cli, tmp_path, cache, canary, form):
    batches = cifar_batches()
    batches["data_batch_3"] = pickle.dumps({b"data": RunsCode(canary), b"labels": [0]})
    root = tmp_path / "c10"
    (write_cifar_folder if form == "folder" else write_cifar_tar)(root, batches)
    line = refused_before_any_run(train(cli, "cifar10", root), cache, "data_batch_3", "posix.system")
    assert not canary.exists()
    assert (str(root / "cifar-10-batches-py" / "data_batch_3") in line) == (form == "folder"), line


def test_a_cifar_label_out_of_range_is_named(cli, tmp_path, cache):
    batches = cifar_batches()
    entry = pickle.loads(batches["test_batch"])
    entry[b"labels"][1] = 10
    batches["test_batch"] = pickle.dumps(entry)
    folder = write_cifar_folder(tmp_path / "c10", batches)
    refused_before_any_run(
        train(cli, "cifar10", tmp_path / "c10"), cache, str(folder / "test_batch"), "label 10 at index 1"
    )


def test_a_batch_that_is_not_a_batch_is_named(cli, tmp_path, cache):
    batches = cifar_batches()
    batches["data_batch_1"] = pickle.dumps([1, 2, 3])
    write_cifar_folder(tmp_path / "c10", batches)
    refused_before_any_run(train(cli, "cifar10", tmp_path / "c10"), cache, "data_batch_1", "not a CIFAR-10 batch")


def test_a_truncated_archive_is_named(cli, tmp_path, cache):
    archive = write_cifar_tar(tmp_path / "c10")
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    refused_before_any_run(train(cli, "cifar10", tmp_path / "c10"), cache, str(archive), "not a readable tar archive")


def member(name, kind=tarfile.REGTYPE, data=b"", link=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, link, len(data) if kind == tarfile.REGTYPE else 0
    return info, data if kind == tarfile.REGTYPE else None


@pytest.mark.parametrize(
    "extra, says",
    [
        (member("../owned", data=b"x"), "'../owned' points outside"),
        (member("cifar-10-batches-py/../../owned", data=b"x"), "points outside"),
        (member("/tmp/owned", data=b"x"), "'/tmp/owned' points outside"),
        (member("cifar-10-batches-py/readme", tarfile.SYMTYPE, link="/etc/passwd"), "is a link or device"),
        (member("cifar-10-batches-py/hard", tarfile.LNKTYPE, link="/etc/passwd"), "is a link or device"),
        (member("cifar-10-batches-py/fifo", tarfile.FIFOTYPE), "is a link or device"),
    ],
    ids=["dot_dot", "dot_dot_inside", "absolute", "symlink", "hardlink", "fifo"],
)
def test_an_archive_member_that_reaches_outside_is_refused(cli, tmp_path, cache, extra, says):
    archive = write_cifar_tar(tmp_path / "c10", extra=[extra])
    refused_before_any_run(train(cli, "cifar10", tmp_path / "c10"), cache, str(archive), "refused", says)
    assert not (tmp_path / "owned").exists() and not (tmp_path / "c10" / "cifar-10-batches-py").exists()


# ---------------------------------------------------------------- files that would block a read


def test_a_fifo_in_place_of_a_file_is_refused_without_blocking(cli, tmp_path, cache):
    paths = write_idx(tmp_path / "fm")
    paths["train_x"].unlink()
    os.mkfifo(paths["train_x"])  # open() would wait for a writer forever
    refused_before_any_run(
        train(cli, "fashion_mnist", tmp_path / "fm"), cache, str(paths["train_x"]), "not a regular file"
    )


def test_a_fifo_as_the_archive_is_refused_without_blocking(cli, tmp_path, cache):
    (tmp_path / "c10").mkdir()
    os.mkfifo(tmp_path / "c10" / "cifar-10-python.tar.gz")
    refused_before_any_run(
        train(cli, "cifar10", tmp_path / "c10"), cache, "cifar-10-python.tar.gz", "not a regular file"
    )


def test_a_fifo_as_data_root_is_not_a_folder(cli, tmp_path, cache):
    os.mkfifo(tmp_path / "root")
    refused_before_any_run(train(cli, "kmnist", tmp_path / "root"), cache, "is not a folder")
