"""The page's default network trained at build time, on CPython with the same pycore and the same
training session as the page's worker, so the page can open on trained filters (start=pretrained).

The net is pycore.CONVNETJS_MNIST with seed 0, fed every MNIST chunk as the worker feeds them and
trained one batch per `Session.train_for(0)` call, so the run depends on its inputs only, never on
the clock. It trains with sgd (momentum 0.9, learning rate 0.01, batch 20, l2 0.001) rather than
ConvNetJS's adadelta: measured on a 2-core machine (about 2,000 examples/s), adadelta first reached
98% on the full test set after 300,000 examples (~210 s) and dipped back to 97.5% on the way, while
this sgd is at 98.2% or more from 110,000 examples on and at 98.71% after 180,000 (80 s in all).
Before saving, the run switches to the page's default trainer (config.TRAINERS[DEFAULT_TRAINER]),
so a page that opens it carries on the way a fresh page trains.

The saved run holds the charts' history the session keeps (a point every Session.CHART_EVERY examples).

The plain MLP preset is trained the same way (REFERENCES), so that the shift lesson can put an MLP and
a CNN, both trained, side by side whatever network the page trains.
"""
import gzip
import importlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

import pycore

from .assets import DATASETS, sha256_bytes

ROOT = Path(__file__).resolve().parent.parent
SPEC_PRESET = "convnetjs"            # the page's name for pycore.CONVNETJS_MNIST
SEED = 0
EXAMPLES = 180_000
TRAINER = {"method": "sgd", "learning_rate": 0.01, "momentum": 0.9, "batch_size": 20, "l2_decay": 0.001}
EXAMPLES_PER_S = 2000                # measured on a 2-core machine, for the log line only
REFERENCES = ("convnetjs", "mlp")    # the presets the build trains (the first is start=pretrained's)


def pretrained_run(cache, mnist_folder, mnist_index, log, examples=EXAMPLES, preset=SPEC_PRESET):
    """Train (or reuse) the pretrained MNIST run of a preset; -> (path of its run JSON, its sidecar dict).

    mnist_folder, mnist_index: what buildkit.chunks.convert_dataset returned for MNIST. The sidecar
    {"examples", "test_accuracy" (fraction of the full test set, centre crop, as the page scores it),
    "test_count", "trainer", "spec_preset", "seed", "seconds", "numpy", "key"} is saved beside the run."""
    key = cache_key(mnist_index, examples, preset)
    folder = cache / "pretrained"
    stem = "mnist" if preset == SPEC_PRESET else f"mnist_{preset}"
    run, sidecar = folder / f"{stem}-{key}.json", folder / f"{stem}-{key}.info.json"
    if run.exists() and sidecar.exists():
        info = json.loads(sidecar.read_text())
        log(f"pretrained {preset} run: cached ({100 * info['test_accuracy']:.2f}% on the test set)")
        return run, info
    log(f"training the pretrained {preset} run (at most {round(examples / EXAMPLES_PER_S)} s, once per pycore change)")
    t0 = time.perf_counter()
    text, accuracy, test_count = train(mnist_folder, mnist_index, examples, preset)
    info = {"examples": examples, "test_accuracy": accuracy, "test_count": test_count, "trainer": TRAINER,
            "spec_preset": preset, "seed": SEED, "seconds": round(time.perf_counter() - t0, 1),
            "numpy": np.__version__, "key": key}
    folder.mkdir(parents=True, exist_ok=True)
    for path, data in ((run, text), (sidecar, json.dumps(info, indent=1) + "\n")):
        tmp = path.with_name(path.name + ".tmp")      # complete files only, should the build be stopped
        tmp.write_text(data)
        os.replace(tmp, path)
    prune(folder, stem, key)
    log(f"pretrained {preset} run: {100 * accuracy:.2f}% on the test set after {examples:,} examples "
        f"({info['seconds']} s)")
    return run, info


def train(mnist_folder, mnist_index, examples, preset=SPEC_PRESET):
    """-> (Session.save text, full test-set accuracy, test images scored)."""
    session = session_module()
    spec = importlib.import_module("presets").PRESETS[preset]["spec"]
    meta = {"mnist": {"title": DATASETS["mnist"]["title"], "classes": DATASETS["mnist"]["classes"],
                      "train_count": sum(c["count"] for c in mnist_index["train"]),
                      "test_count": sum(c["count"] for c in mnist_index["test"])}}
    s = session.Session(meta, spec=spec, trainer=TRAINER, seed=SEED)
    for kind in ("train", "test"):
        for c in mnist_index[kind]:
            s.add_chunk("mnist", kind, gzip.decompress((mnist_folder / c["file"]).read_bytes()), c["count"])
    while s.trainer.examples < examples:
        s.train_for(0)                        # a zero budget: exactly one batch
    s.set_options(dict(page_trainer()["options"]))
    text = s.save()
    s.start_evaluation()
    while (result := s.evaluation_step(60_000)) is None:
        pass
    return text, result["accuracy"], result["count"]


def page_trainer():
    """The page's default trainer (site/worker/py/config.py), which a pretrained run carries on with:
    {'title', 'options'}."""
    session_module()
    config = importlib.import_module("config")
    return config.TRAINERS[config.DEFAULT_TRAINER]


def session_module():
    """The page worker's session module (site/worker/py/session.py), imported as the worker imports it."""
    py = str(ROOT / "site" / "worker" / "py")
    if py not in sys.path:
        sys.path.insert(0, py)
    return importlib.import_module("session")


def cache_key(mnist_index, examples, preset=SPEC_PRESET):
    """Hash of everything the run depends on: the Python the page runs (pycore/**/*.py, site/worker/py/*.py,
    which holds the presets' specs), this file, the chunks, the preset, the trainers, the seed, the
    example count and NumPy's version."""
    files = sorted([*(ROOT / "pycore").rglob("*.py"), *(ROOT / "site" / "worker" / "py").glob("*.py")])
    parts = [f"{p.relative_to(ROOT).as_posix()} {sha256_bytes(p.read_bytes())}" for p in files
             if "__pycache__" not in p.parts]
    parts += [sha256_bytes(Path(__file__).read_bytes())]
    parts += [c["sha256"] for split in ("train", "test") for c in mnist_index[split]]
    parts += [json.dumps([pycore.CONVNETJS_MNIST, TRAINER, page_trainer()["options"], SEED, examples,
                          np.__version__], sort_keys=True)]
    if preset != SPEC_PRESET:
        parts += [preset]
    return sha256_bytes("\n".join(parts).encode())[:16]


def prune(folder, stem, key):
    """Drop this preset's runs of other keys: each pycore edit makes a new one."""
    for p in folder.glob(f"{stem}-*.json"):
        if p.name.split("-")[1].split(".")[0] != key:
            p.unlink(missing_ok=True)
