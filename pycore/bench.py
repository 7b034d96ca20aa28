"""Train the ConvNetJS MNIST network on real MNIST: throughput (speed) and accuracy curves (train).

    python -m pycore.bench speed --data DIR [--seconds 20]
    python -m pycore.bench train --data DIR [--method adadelta] [--epochs 3]

DIR holds the four original IDX files (train-images-idx3-ubyte, ...; .gz also accepted).
`speed_run` and `train_run` take arrays, so the worker can call them under Pyodide too.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

from . import CONVNETJS_MNIST, CONVNETJS_TRAINER, Net, PycoreError, Trainer
from .data import load_pair, predict_crops, random_crops, to_float

CROP = 24


def speed_run(images, labels, seconds=10.0, batch=20, chunk=200, seed=0, log=None):
    """Train on random crops for about `seconds`; returns examples/s after a short warm-up.

    images: (N, 28, 28) uint8; labels: (N,) uint8. Crop, scaling and update time all count.
    """
    net = Net.from_spec(CONVNETJS_MNIST, seed=seed)
    trainer = Trainer(net, **{**CONVNETJS_TRAINER, 'batch_size': batch})
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(images))
    pos = 0

    def step():
        nonlocal pos
        idx = order[np.arange(pos, pos + chunk) % len(order)]
        pos += chunk
        return trainer.train_batch(to_float(random_crops(images[idx], CROP, rng)), labels[idx])

    step()                                           # warm-up: first-call costs are not throughput
    done, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        stats = step()
        done += chunk
    elapsed = time.perf_counter() - t0
    result = {'examples_per_s': done / elapsed, 'examples': done, 'seconds': elapsed,
              'fwd_ms': stats['fwd_ms'], 'bwd_ms': stats['bwd_ms']}
    if log:
        log(json.dumps(result))
    return result


def train_run(train, test, epochs=3.0, seed=0, every=10000, log=print, crops=4, **trainer_options):
    """Train the ConvNetJS MNIST net; log test accuracy every `every` examples and at the end.

    train, test: (images (N, 28, 28) uint8, labels (N,)). Returns the list of curve points.
    """
    images, labels = train
    net = Net.from_spec(CONVNETJS_MNIST, seed=seed)
    trainer = Trainer(net, **{**CONVNETJS_TRAINER, **trainer_options})
    rng = np.random.default_rng(seed)
    total = int(epochs * len(images))
    curve, seen, t0 = [], 0, time.perf_counter()
    B = trainer.options.batch_size
    chunk = B * max(1, 200 // B)
    order = np.concatenate([rng.permutation(len(images)) for _ in range(int(np.ceil(epochs)))])[:total]
    while seen < total:
        idx = order[seen:seen + chunk]
        trainer.train_batch(to_float(random_crops(images[idx], CROP, rng)), labels[idx])
        seen += len(idx)
        if seen % every < chunk or seen == total:
            point = evaluate(net, test, seen, len(images), time.perf_counter() - t0, crops)
            curve.append(point)
            log(json.dumps(point))
    return curve


def centre_accuracy(net, images, labels):
    """The fraction of images classified right from their centre crop, as the page scores."""
    return float((predict_crops(net, images, CROP, count=1).argmax(1) == labels).mean())


def evaluate(net, test, seen, n_train, elapsed, crops):
    images, labels = test
    centre = centre_accuracy(net, images, labels)
    point = {'examples': seen, 'epochs': round(seen / n_train, 3), 'seconds': round(elapsed, 1),
             'test_accuracy_centre_crop': float(centre)}
    if crops > 1:
        point[f'test_accuracy_{crops}_crops'] = float((predict_crops(net, images, CROP, count=crops).argmax(1) == labels).mean())
    return point


def load_mnist(folder):
    def pick(stem):
        for name in (stem, stem + '.gz'):
            path = os.path.join(folder, name)
            if os.path.exists(path):
                return path
        raise PycoreError(f'{stem} (or {stem}.gz) not found in {folder}')
    train = load_pair(pick('train-images-idx3-ubyte'), pick('train-labels-idx1-ubyte'))
    test = load_pair(pick('t10k-images-idx3-ubyte'), pick('t10k-labels-idx1-ubyte'))
    return train, test


def main(argv=None):
    ap = argparse.ArgumentParser(prog='python -m pycore.bench', description=__doc__.split('\n')[0])
    sub = ap.add_subparsers(dest='command', required=True)
    sp = sub.add_parser('speed', help='training throughput in examples/s')
    sp.add_argument('--data', required=True, help='folder with the MNIST IDX files')
    sp.add_argument('--seconds', type=float, default=20.0)
    tp = sub.add_parser('train', help='accuracy curve of a full training run')
    tp.add_argument('--data', required=True)
    tp.add_argument('--epochs', type=float, default=3.0)
    tp.add_argument('--method', default='adadelta')
    tp.add_argument('--learning-rate', type=float, default=0.01)
    tp.add_argument('--momentum', type=float, default=0.9)
    tp.add_argument('--batch-size', type=int, default=20)
    tp.add_argument('--l2-decay', type=float, default=0.001)
    tp.add_argument('--seed', type=int, default=0)
    tp.add_argument('--every', type=int, default=10000, help='examples between two test-set evaluations')
    tp.add_argument('--crops', type=int, default=4, help='also score the mean of this many crops (1: centre only)')
    tp.add_argument('--schedule', default='constant', help='learning-rate schedule (pycore.schedule)')
    for name, kind in (('step-size', int), ('gamma', float), ('total-steps', int), ('min-rate', float),
                       ('warmup-steps', int)):
        tp.add_argument('--' + name, type=kind, help='schedule option (default: as pycore.TrainerOptions)')
    args = ap.parse_args(argv)
    try:
        train, test = load_mnist(args.data)
    except PycoreError as e:
        sys.exit(f'error: {e}')
    print(f'python {sys.version.split()[0]}, numpy {np.__version__}, {sys.platform}')
    if args.command == 'speed':
        r = speed_run(*train, seconds=args.seconds)
        print(f'pycore trains the ConvNetJS MNIST net at {r["examples_per_s"]:.0f} examples/s '
              f'(adadelta, batch 20, float32; fwd {r["fwd_ms"]:.3f} ms + bwd {r["bwd_ms"]:.3f} ms per example)')
        print(json.dumps(r))
    else:
        schedule = {k: getattr(args, k) for k in ('step_size', 'gamma', 'total_steps', 'min_rate', 'warmup_steps')
                    if getattr(args, k) is not None}
        try:
            train_run(train, test, epochs=args.epochs, seed=args.seed, every=args.every, crops=args.crops,
                      method=args.method, learning_rate=args.learning_rate, momentum=args.momentum,
                      batch_size=args.batch_size, l2_decay=args.l2_decay, schedule=args.schedule, **schedule)
        except PycoreError as e:
            sys.exit(f'error: {e}')


if __name__ == '__main__':
    main()
