"""Tests for buildkit/pretrain.py: a deterministic, cached run, and the real build's pretrained MNIST run."""
import gzip
import json
import shutil

import numpy as np
import pytest

import pycore
import config
import presets
import session
from buildkit import pretrain
from buildkit.assets import DATASETS, sha256_bytes
from buildkit.chunks import make_chunks


def no_nan(name):
    raise AssertionError(f"{name} in a file the page parses with JSON.parse")


@pytest.fixture
def tiny_mnist(tmp_path):
    """A random 240-image training set and 60-image test set, chunked like MNIST: (folder, index)."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "chunks"
    folder.mkdir()
    index = {}
    for split, n in (("train", 240), ("test", 60)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = rng.integers(0, 256, (n, 28, 28)).astype(np.uint8)
        index[split] = []
        for i, (count, gz) in enumerate(make_chunks(labels, images, size=100)):
            (folder / f"{split}-{i:02d}.bin.gz").write_bytes(gz)
            index[split].append({"file": f"{split}-{i:02d}.bin.gz", "count": count, "sha256": sha256_bytes(gz)})
    return folder, index


def test_run_is_deterministic_cached_and_pruned(tmp_path, tiny_mnist):
    folder, index = tiny_mnist
    stale = tmp_path / "a" / "pretrained" / "mnist-0123456789abcdef.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")
    logs = {"a": [], "b": []}
    runs = {k: pretrain.pretrained_run(tmp_path / k, folder, index, logs[k].append, examples=1000) for k in logs}
    (run_a, info_a), (run_b, info_b) = runs["a"], runs["b"]
    assert run_a.read_bytes() == run_b.read_bytes()
    assert {**info_a, "seconds": 0} == {**info_b, "seconds": 0}
    assert info_a["examples"] == 1000 and info_a["test_count"] == 60 and info_a["trainer"] == pretrain.TRAINER
    assert 0 <= info_a["test_accuracy"] <= 1
    assert logs["a"][0].startswith("training the pretrained convnetjs run (at most ")
    assert not stale.exists() and sorted(p.name for p in run_a.parent.iterdir()) == sorted(
        [run_a.name, run_a.name.replace(".json", ".info.json")])

    log = []
    assert pretrain.pretrained_run(tmp_path / "a", folder, index, log.append, examples=1000) == (run_a, info_a)
    assert log == [f"pretrained convnetjs run: cached ({100 * info_a['test_accuracy']:.2f}% on the test set)"]

    doc = json.loads(run_a.read_text(), parse_constant=no_nan)
    charts = doc["extra"]["session"]["history"]
    assert [x for x, _ in charts["loss"]] == [x for x, _ in charts["accuracy"]] == [500, 1000]
    for (_, loss), (_, acc) in zip(charts["loss"], charts["accuracy"]):
        assert set(loss) == {"loss", "total", "rate"} and loss["total"] > loss["loss"] > 0
        assert loss["rate"] == pretrain.TRAINER["learning_rate"]       # sgd's rate, constant, on the chart
        assert set(acc) == {"train", "validation", "test"}
        assert all(0 <= v <= 100 for v in acc.values())
    # The run carries on with the page's default trainer.
    meta = {"mnist": {"title": "MNIST", "classes": DATASETS["mnist"]["classes"], "train_count": 240, "test_count": 60}}
    loaded = session.Session(meta).load(run_a.read_text())
    assert loaded["examples"] == 1000
    page = config.TRAINERS[config.DEFAULT_TRAINER]["options"]
    assert pretrain.page_trainer()["options"] == page and {k: loaded["options"][k] for k in page} == page


def test_cache_key_covers_every_input(tmp_path, tiny_mnist, monkeypatch):
    _, index = tiny_mnist
    key = pretrain.cache_key(index, 1000)
    for part in ("pycore", "site/worker/py"):
        shutil.copytree(pretrain.ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(pretrain, "ROOT", tmp_path)
    assert pretrain.cache_key(index, 1000) == key          # the sources' bytes count, not where they are
    keys = [key]
    for source in ("pycore/optim.py", "site/worker/py/session.py"):
        path = tmp_path / source
        original = path.read_bytes()
        path.write_bytes(original + b"\n")
        keys.append(pretrain.cache_key(index, 1000))
        path.write_bytes(original)
    keys.append(pretrain.cache_key(index, 1020))
    keys.append(pretrain.cache_key({**index, "test": [{**index["test"][0], "sha256": "0" * 64}]}, 1000))
    monkeypatch.setattr(pretrain, "SEED", 1)
    keys.append(pretrain.cache_key(index, 1000))
    monkeypatch.setattr(pretrain, "SEED", 0)
    monkeypatch.setattr(pretrain, "TRAINER", {**pretrain.TRAINER, "learning_rate": 0.02})
    keys.append(pretrain.cache_key(index, 1000))
    monkeypatch.undo()
    monkeypatch.setattr(np, "__version__", "0.0")
    keys.append(pretrain.cache_key(index, 1000))
    assert len(set(keys)) == len(keys) == 8


def test_built_site_ships_a_pretrained_run_above_98_percent(site):
    data = json.loads((site / "data" / "manifest.json").read_text())
    assert list(data["pretrained"]) == ["mnist"]              # Fashion-MNIST, when built, is not pretrained
    entry = data["pretrained"]["mnist"]
    assert entry == {"file": "data/pretrained/mnist.json", "examples": pretrain.EXAMPLES,
                     "test_accuracy": entry["test_accuracy"], "trainer": pretrain.TRAINER,
                     "spec_preset": "convnetjs", "seed": 0}
    mnist = data["datasets"]["mnist"]
    meta = {"mnist": {k: mnist[k] for k in ("title", "classes", "train_count", "test_count")}}
    s = session.Session(meta)
    for c in mnist["test"]:
        s.add_chunk("mnist", "test", gzip.decompress((site / c["file"]).read_bytes()), c["count"])
    text = (site / entry["file"]).read_text()
    loaded = s.load(text)
    assert loaded["examples"] == entry["examples"] and loaded["options"]["method"] == config.TRAINERS[config.DEFAULT_TRAINER]["options"]["method"]
    assert json.loads(loaded["spec"]) == pycore.Net.from_spec(pycore.CONVNETJS_MNIST).spec
    charts = json.loads(text, parse_constant=no_nan)["extra"]["session"]["history"]
    assert [x for x, _ in charts["loss"]] == list(range(500, entry["examples"] + 1, 500))
    assert charts["accuracy"][-1][1]["test"] > 95

    s.start_evaluation()
    while (result := s.evaluation_step(60_000)) is None:
        pass
    assert result["count"] == 10000
    assert result["accuracy"] == entry["test_accuracy"] >= 0.98


def test_the_mlp_reference_is_its_own_cached_run(tmp_path, tiny_mnist):
    folder, index = tiny_mnist
    cnn = pretrain.pretrained_run(tmp_path, folder, index, lambda *a: None, examples=500)
    mlp = pretrain.pretrained_run(tmp_path, folder, index, lambda *a: None, examples=500, preset="mlp")
    assert cnn[0] != mlp[0] and cnn[0].exists() and mlp[0].exists()       # neither prunes the other
    assert mlp[1]["spec_preset"] == "mlp" and mlp[1]["key"] != cnn[1]["key"]
    net = pycore.from_json(mlp[0].read_text())[0]
    assert net.spec == pycore.Net.from_spec(presets.PRESETS["mlp"]["spec"]).spec

def test_built_site_ships_an_mlp_reference(site):
    data = json.loads((site / "data" / "manifest.json").read_text())
    refs = data["references"]["mnist"]
    assert sorted(refs) == ["convnetjs", "mlp"] and refs["convnetjs"] == data["pretrained"]["mnist"]
    net = pycore.from_json((site / refs["mlp"]["file"]).read_text())[0]
    assert "conv" not in [L.type for L in net.layers] and refs["mlp"]["test_accuracy"] >= 0.96
