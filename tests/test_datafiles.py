"""MNIST/Fashion-MNIST/CIFAR-10 readers against small files the tests write themselves: valid,
corrupt, mis-counted, missing. Nothing here touches the network (downloads use file://)."""

from __future__ import annotations

import gzip
import hashlib
import io
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest

from benchsuite import cli, data, datafiles, download
from benchsuite.errors import DataError

IDX_STEMS = datafiles.IDX_PARTS


def idx_bytes(array: np.ndarray) -> bytes:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    return header + struct.pack(f">{array.ndim}I", *array.shape) + array.astype(np.uint8).tobytes()


def digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def write_idx(folder: Path, rng, n_train=12, n_test=6, gz=True, labels_short=0) -> dict:
    """A tiny MNIST-format data set; returns {file name: sha256} of what was written."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28)),
        "train_labels": rng.integers(0, 10, n_train - labels_short),
        "test_images": rng.integers(0, 256, (n_test, 28, 28)),
        "test_labels": rng.integers(0, 10, n_test),
    }
    sums = {}
    for role, array in arrays.items():
        raw = idx_bytes(array)
        name = IDX_STEMS[role] + (".gz" if gz else "")
        payload = gzip.compress(raw, mtime=0) if gz else raw
        (folder / name).write_bytes(payload)
        sums[name] = digest(payload)
    return {"sums": sums, **arrays}


@pytest.fixture
def published(monkeypatch):
    """Make the given digests the 'published' ones of a data set for this test."""
    def use(name: str, sums: dict[str, str]) -> None:
        src = datafiles.SOURCES[name]
        monkeypatch.setitem(datafiles.SOURCES, name,
                            datafiles.Source(src.name, src.kind, sums, src.mirrors, src.homepage))
    return use


def test_idx_gzipped_loads_as_nhwc_float32_with_labels(tmp_path, rng, published):
    written = write_idx(tmp_path / "mnist", rng)
    published("mnist", written["sums"])
    x_train, y_train, x_test, y_test = datafiles.load("mnist", tmp_path)
    assert x_train.shape == (12, 28, 28, 1) and x_train.dtype == np.float32
    assert x_test.shape == (6, 28, 28, 1) and y_test.dtype == np.int64
    np.testing.assert_allclose(x_train[..., 0] * 255, written["train_images"], atol=1e-3)
    np.testing.assert_array_equal(y_train, written["train_labels"])
    ds = data.load("mnist", str(tmp_path), limit=5)
    assert len(ds.x_train) == 5 and len(ds.x_test) == 6 and ds.input_shape == (28, 28, 1)


def test_plain_idx_needs_and_honours_a_manifest(tmp_path, rng):
    written = write_idx(tmp_path / "fashion-mnist", rng, gz=False)
    with pytest.raises(DataError, match="no SHA-256 known for this file"):
        datafiles.load("fashion-mnist", tmp_path)
    manifest = "".join(f"{d}  {f}\n" for f, d in written["sums"].items())
    (tmp_path / "fashion-mnist" / "SHA256SUMS").write_text(manifest)
    x_train, *_ = datafiles.load("fashion-mnist", tmp_path)
    assert x_train.shape == (12, 28, 28, 1)


def test_wrong_checksum_names_the_file(tmp_path, rng):
    write_idx(tmp_path / "mnist", rng)  # real published digests: these files cannot match
    with pytest.raises(DataError) as err:
        datafiles.load("mnist", tmp_path)
    message = str(err.value)
    assert "train-images-idx3-ubyte.gz" in message and "but expected 440fcabf73cc546f" in message


def test_label_image_count_mismatch(tmp_path, rng, published):
    written = write_idx(tmp_path / "mnist", rng, labels_short=2)
    published("mnist", written["sums"])
    with pytest.raises(DataError, match=r"10 labels but train-images-idx3-ubyte\.gz holds 12"):
        datafiles.load("mnist", tmp_path)


@pytest.mark.parametrize("damage, message", [
    (lambda raw: b"\x01\x02" + raw[2:], "bad magic number"),
    (lambda raw: raw[:-5], "file holds"),
    (lambda raw: raw[:2] + b"\x0d" + raw[3:], "expected an IDX file of unsigned bytes"),
])
def test_corrupt_idx_is_one_clear_error(tmp_path, rng, published, damage, message):
    written = write_idx(tmp_path / "mnist", rng, gz=False)
    path = tmp_path / "mnist" / "t10k-images-idx3-ubyte"
    path.write_bytes(damage(path.read_bytes()))
    published("mnist", {**written["sums"], path.name: digest(path.read_bytes())})
    with pytest.raises(DataError, match=message) as err:
        datafiles.load("mnist", tmp_path)
    assert str(path) in str(err.value)


def test_missing_files_say_how_to_get_them(tmp_path):
    with pytest.raises(DataError, match="benchsuite data download mnist"):
        datafiles.load("mnist", tmp_path)


def cifar_records(rng, n: int) -> tuple[bytes, np.ndarray, np.ndarray]:
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = rng.integers(0, 256, (n, 3, 32, 32)).astype(np.uint8)  # CHW, as on disk
    raw = b"".join(bytes([lab]) + img.tobytes() for lab, img in zip(labels, images))
    return raw, labels, images


def write_cifar_archive(folder: Path, rng) -> tuple[dict, np.ndarray, np.ndarray]:
    folder.mkdir(parents=True)
    buf = io.BytesIO()
    first = None
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name in datafiles.CIFAR_TRAIN + datafiles.CIFAR_TEST:
            raw, labels, images = cifar_records(rng, 3)
            first = first or (labels, images)
            info = tarfile.TarInfo(f"{datafiles.CIFAR_FOLDER}/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    (folder / datafiles.CIFAR_ARCHIVE).write_bytes(buf.getvalue())
    return {datafiles.CIFAR_ARCHIVE: digest(buf.getvalue())}, *first


def test_cifar_binary_archive_read_in_place(tmp_path, rng, published):
    sums, labels, images = write_cifar_archive(tmp_path / "cifar10", rng)
    published("cifar10", sums)
    x_train, y_train, x_test, _ = datafiles.load("cifar10", tmp_path)
    assert x_train.shape == (15, 32, 32, 3) and x_test.shape == (3, 32, 32, 3)
    np.testing.assert_array_equal(y_train[:3], labels)
    # CHW on disk → HWC: pixel (row 5, col 7) of the green plane of image 0
    assert x_train[0, 5, 7, 1] == pytest.approx(images[0, 1, 5, 7] / 255)


def test_cifar_extracted_folder_and_bad_record_size(tmp_path, rng):
    folder = tmp_path / "cifar10" / datafiles.CIFAR_FOLDER
    folder.mkdir(parents=True)
    lines = []
    for name in datafiles.CIFAR_TRAIN + datafiles.CIFAR_TEST:
        raw = cifar_records(rng, 2)[0]
        if name == "test_batch.bin":
            raw = raw[:-1]
        (folder / name).write_bytes(raw)
        lines.append(f"{digest(raw)}  {name}\n")
    (folder / "SHA256SUMS").write_text("".join(lines))
    with pytest.raises(DataError, match=r"test_batch\.bin: 6145 bytes is not a whole number"):
        datafiles.load("cifar10", tmp_path)


def test_download_from_a_mirror_verifies_and_writes_the_manifest(tmp_path, rng, published):
    written = write_idx(tmp_path / "mirror", rng)
    published("mnist", written["sums"])
    folder = download.download("mnist", tmp_path / "data", mirror=(tmp_path / "mirror").as_uri(),
                                log=lambda line: None)
    assert sorted(p.name for p in folder.iterdir()) == sorted([*written["sums"], "SHA256SUMS"])
    assert datafiles.read_manifest(folder) == written["sums"]
    assert datafiles.load("mnist", tmp_path / "data")[0].shape == (12, 28, 28, 1)


def test_download_rejects_a_file_with_the_wrong_digest(tmp_path, rng, published):
    written = write_idx(tmp_path / "mirror", rng)
    published("mnist", {**written["sums"], "t10k-labels-idx1-ubyte.gz": "0" * 64})
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz: could not download"):
        download.download("mnist", tmp_path / "data", mirror=(tmp_path / "mirror").as_uri(),
                           log=lambda line: None)
    assert not (tmp_path / "data" / "mnist" / "t10k-labels-idx1-ubyte.gz").exists()
    assert not list((tmp_path / "data" / "mnist").glob(".*"))  # no partial download left


def test_cli_bad_data_is_one_line_exit_2(tmp_path, rng, capsys):
    write_idx(tmp_path / "mnist", rng)
    code = cli.main(["train", "--dataset", "mnist", "--data-dir", str(tmp_path), "-b", "numpy"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "SHA-256" in err[0] and "Traceback" not in err[0]


def test_cli_data_list_and_download(tmp_path, rng, published, capsys):
    written = write_idx(tmp_path / "mirror", rng)
    published("mnist", written["sums"])
    assert cli.main(["data", "download", "mnist", "--data-dir", str(tmp_path / "d"),
                     "--mirror", (tmp_path / "mirror").as_uri()]) == 0
    assert cli.main(["data", "list", "--data-dir", str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out
    assert "mnist: ready in" in out
    assert "ok: 12 train + 6 test images (28, 28, 1)" in out
    assert "cifar10:" in out and "not usable" in out
    assert cli.main(["data", "download", "imagenet"]) == 2
