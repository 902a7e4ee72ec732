"""Real datasets from files: MNIST and Fashion-MNIST (IDX) and CIFAR-10 (the binary version).

Files live in ``DATA_DIR/NAME/`` where ``DATA_DIR`` is ``--data-dir``, else ``$BENCHSUITE_DATA``,
else ``~/.cache/benchsuite/data``. Every file is checked against a SHA-256 before it is parsed:

* the published files (``train-images-idx3-ubyte.gz`` ..., ``cifar-10-binary.tar.gz``) against
  the digests the datasets' authors and TFDS/torchvision publish, written below;
* any other file (an IDX file someone un-gzipped, an extracted ``cifar-10-batches-bin/``)
  against a ``SHA256SUMS`` file in the same folder (``sha256sum`` format), which
  ``benchsuite data download`` writes and a user can write with ``sha256sum * > SHA256SUMS``.

A file with no digest, a wrong digest, a bad header or inconsistent counts is a one-line
:class:`~benchsuite.errors.DataError` naming the file and what was expected. CIFAR-10 is read
from its binary records, never from the pickled "python version".
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchsuite.errors import DataError
from benchsuite.fileio import read_regular, reason

MANIFEST = "SHA256SUMS"
IDX_PARTS = {  # role -> file stem; every IDX data set has these four
    "train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte",
}
CIFAR_ARCHIVE = "cifar-10-binary.tar.gz"
CIFAR_FOLDER = "cifar-10-batches-bin"
CIFAR_TRAIN = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
CIFAR_TEST = ("test_batch.bin",)
CIFAR_RECORD = 1 + 32 * 32 * 3  # label byte, then 1024 red, 1024 green, 1024 blue


@dataclass(frozen=True)
class Source:
    """Where a data set comes from and the digests of its published files."""

    name: str
    kind: str  # "idx" or "cifar"
    sha256: dict[str, str]
    mirrors: tuple[str, ...]
    homepage: str


SOURCES = {
    "mnist": Source("mnist", "idx", {
        "train-images-idx3-ubyte.gz":
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz":
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz":
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz":
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    }, ("https://storage.googleapis.com/cvdf-datasets/mnist/",
        "https://ossci-datasets.s3.amazonaws.com/mnist/"),
        "http://yann.lecun.com/exdb/mnist/"),
    "fashion-mnist": Source("fashion-mnist", "idx", {
        "train-images-idx3-ubyte.gz":
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz":
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz":
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz":
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    }, ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        "https://github.com/zalandoresearch/fashion-mnist"),
    "cifar10": Source("cifar10", "cifar", {
        CIFAR_ARCHIVE: "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
    }, ("https://www.cs.toronto.edu/~kriz/",), "https://www.cs.toronto.edu/~kriz/cifar.html"),
}


def source(name: str) -> Source:
    from benchsuite.errors import UnknownNameError

    if name not in SOURCES:
        raise UnknownNameError("data set", name, list(SOURCES))
    return SOURCES[name]


def data_dir(given: str | Path | None = None) -> Path:
    """``given``, else ``$BENCHSUITE_DATA``, else ``~/.cache/benchsuite/data``."""
    if given:
        return Path(given).expanduser()
    env = os.environ.get("BENCHSUITE_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "benchsuite" / "data"


# -- checksums -----------------------------------------------------------------------------

def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(folder: Path) -> dict[str, str]:
    """``SHA256SUMS`` in ``folder`` as {file name: digest}; empty when there is none."""
    path = folder / MANIFEST
    if not path.exists():
        return {}
    try:  # a folder or a FIFO of that name is refused, not read (or waited on)
        text = read_regular(path).decode("utf-8", errors="replace")
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({reason(exc)})") from None
    out = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or len(parts[0]) != 64:
            raise DataError(f"{path}: line {n} is not '<sha256>  <file>'")
        out[parts[1].lstrip("*")] = parts[0].lower()
    return out


def verify(path: Path, src: Source) -> None:
    """Check ``path`` against its published digest, else against the folder's SHA256SUMS."""
    expected = src.sha256.get(path.name) or read_manifest(path.parent).get(path.name)
    if expected is None:
        raise DataError(f"{path}: no SHA-256 known for this file (published files: "
                        f"{', '.join(src.sha256)}; list others in {path.parent / MANIFEST})")
    actual = sha256_of(path)
    if actual != expected:
        raise DataError(f"{path}: SHA-256 {actual[:16]}... but expected {expected[:16]}... "
                        "(corrupt, truncated or not the published file)")


# -- IDX (MNIST, Fashion-MNIST) --------------------------------------------------------------

IDX_UBYTE = 0x08


def parse_idx(raw: bytes, where: str, ndim: int) -> np.ndarray:
    """An IDX file of unsigned bytes with ``ndim`` dimensions (3: images, 1: labels)."""
    if len(raw) < 4 or raw[:2] != b"\0\0":
        raise DataError(f"{where}: not an IDX file (bad magic number)")
    dtype, dims = raw[2], raw[3]
    if dtype != IDX_UBYTE or dims != ndim:
        raise DataError(f"{where}: expected an IDX file of unsigned bytes with {ndim} "
                        f"dimension(s), got type 0x{dtype:02x} with {dims}")
    header = 4 + 4 * dims
    if len(raw) < header:
        raise DataError(f"{where}: truncated IDX header")
    shape = struct.unpack(f">{dims}I", raw[4:header])
    size = int(np.prod(shape))
    if len(raw) - header != size:
        raise DataError(f"{where}: header says {shape} = {size} bytes of data, "
                        f"file holds {len(raw) - header}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _idx_file(folder: Path, stem: str, src: Source, check: bool) -> tuple[Path, bytes]:
    """The gzipped or plain IDX file for ``stem``: verified, decompressed bytes."""
    for path in (folder / f"{stem}.gz", folder / stem):
        if path.exists():
            if check:
                verify(path, src)
            try:
                raw = path.read_bytes()
                return path, gzip.decompress(raw) if path.suffix == ".gz" else raw
            except (OSError, EOFError, gzip.BadGzipFile) as exc:
                raise DataError(f"{path}: cannot read ({exc})") from None
    raise DataError(f"{folder / (stem + '.gz')}: not found (nor {stem}); "
                    f"run 'benchsuite data download {src.name}' where there is internet, "
                    f"or point --data-dir / BENCHSUITE_DATA at a folder holding {src.name}/")


def load_idx(folder: Path, src: Source, check: bool = True):
    """(x_train, y_train, x_test, y_test): NHWC float32 in [0, 1] and int64 labels."""
    parts = {}
    for split in ("train", "test"):
        ipath, images = _idx_file(folder, IDX_PARTS[f"{split}_images"], src, check)
        lpath, labels = _idx_file(folder, IDX_PARTS[f"{split}_labels"], src, check)
        x, y = parse_idx(images, str(ipath), 3), parse_idx(labels, str(lpath), 1)
        if len(x) != len(y):
            raise DataError(f"{lpath}: {len(y)} labels but {ipath.name} holds {len(x)} images")
        if len(y) and y.max() > 9:
            raise DataError(f"{lpath}: label {int(y.max())} outside 0..9")
        parts[split] = ((x.astype(np.float32) / 255.0)[..., None], y.astype(np.int64))
    return (*parts["train"], *parts["test"])


# -- CIFAR-10, binary version ----------------------------------------------------------------

def parse_cifar(raw: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Records of 1 label byte + a 3×32×32 CHW image → NHWC float32 in [0, 1], int64 labels."""
    if not raw or len(raw) % CIFAR_RECORD:
        raise DataError(f"{where}: {len(raw)} bytes is not a whole number of "
                        f"{CIFAR_RECORD}-byte CIFAR-10 records")
    records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, CIFAR_RECORD)
    y = records[:, 0].astype(np.int64)
    if y.max() > 9:
        raise DataError(f"{where}: label {int(y.max())} outside 0..9 (not CIFAR-10 binary?)")
    x = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return x.astype(np.float32) / 255.0, y


def _cifar_batches(folder: Path, src: Source, check: bool) -> dict[str, tuple[bytes, str]]:
    """Every batch file's bytes (and where it came from): from the published archive, read
    in place, or from an extracted ``cifar-10-batches-bin/`` folder."""
    archive, extracted = folder / CIFAR_ARCHIVE, folder / CIFAR_FOLDER
    names = CIFAR_TRAIN + CIFAR_TEST
    out = {}
    if archive.exists():
        if check:
            verify(archive, src)
        try:
            with tarfile.open(archive, "r:gz") as tar:
                for name in names:
                    where = f"{archive}:{CIFAR_FOLDER}/{name}"
                    try:
                        member = tar.extractfile(f"{CIFAR_FOLDER}/{name}")
                    except KeyError:
                        member = None
                    if member is None:
                        raise DataError(f"{where}: missing from the archive")
                    out[name] = (member.read(), where)
        except (OSError, EOFError, tarfile.TarError) as exc:
            raise DataError(f"{archive}: cannot read ({exc})") from None
        return out
    if extracted.is_dir():
        for name in names:
            path = extracted / name
            if not path.exists():
                raise DataError(f"{path}: not found (expected the CIFAR-10 binary batches)")
            if check:
                verify(path, src)
            out[name] = (path.read_bytes(), str(path))
        return out
    raise DataError(f"{archive}: not found (nor an extracted {CIFAR_FOLDER}/); run "
                    f"'benchsuite data download cifar10' where there is internet, or point "
                    f"--data-dir / BENCHSUITE_DATA at a folder holding cifar10/")


def load_cifar(folder: Path, src: Source, check: bool = True):
    batches = _cifar_batches(folder, src, check)
    splits = []
    for names in (CIFAR_TRAIN, CIFAR_TEST):
        xs, ys = zip(*(parse_cifar(*batches[n]) for n in names))
        splits += [np.concatenate(xs), np.concatenate(ys)]
    return tuple(splits)


def load(name: str, root: str | Path | None = None, check: bool = True):
    """(x_train, y_train, x_test, y_test) of data set ``name`` from ``root/name/``."""
    src = source(name)
    folder = data_dir(root) / name
    if src.kind == "idx":
        return load_idx(folder, src, check)
    return load_cifar(folder, src, check)


# -- download ------------------------------------------------------------------------------

def describe(name: str, root: str | Path | None = None) -> dict[str, object]:
    """What is on disk for ``name``: folder, files, and whether they load."""
    src = source(name)
    folder = data_dir(root) / name
    try:
        x_train, _, x_test, _ = load(name, root)
        status = f"ok: {len(x_train)} train + {len(x_test)} test images {x_train.shape[1:]}"
    except DataError as exc:
        status = f"not usable: {exc}"
    return {"name": name, "folder": str(folder), "homepage": src.homepage, "status": status}
