"""The divergence guard: notices when training blows up, and keeps checkpoints to go back to.

    guard = Guard(trainer)
    for x, y in batches:
        stats = trainer.train_batch(x, y)
        diverged = guard.after_step(stats['loss'])
        if diverged:                     # {'reason', 'level', 'loss', 'steps', ...}
            print(diverged['reason'])
            trainer.set(learning_rate=0.01)
            guard.rollback()             # the last good weights and update-rule buffers, exactly

The rule: training has diverged when the loss, or any weight or gradient, is not finite (NaN or
infinite; a sum over the weights that overflows counts too), or when the mean loss of the last
RECENT batches is more than FACTOR times the median of the WINDOW batches before them and also
more than that median plus MARGIN (so that a loss that is small and noisy late in training, 0.05
jumping to 0.3, is not taken for a blow-up). The level is only judged once WINDOW losses are known,
and a loss judged diverged does not join it: until a rollback, or accept(), every later step is
judged against the level from before. Given `chance` (the loss of a net that knows nothing: ln K for
a softmax over K classes), a recent mean above CHANCE_FACTOR times it counts as diverged from the
first steps on, before any level is known: a learning rate that is too large from the start.

Checkpoints are taken every `every` steps while the loss is at its level (the recent mean at most
STEADY times the median), `keep` of them, plus the one at the start: a copy of every parameter and of
the update rule's buffers, with the step and example counters. Rolling back restores them and keeps
the trainer's options as they are now, so a lower learning rate then trains on from there.
"""
import math
from collections import deque

import numpy as np

from .optim import RULES


class Guard:
    WINDOW = 100
    RECENT = 10
    FACTOR = 3.0
    MARGIN = 1.0
    STEADY = 1.5
    CHANCE_FACTOR = 10.0

    def __init__(self, trainer, every=200, keep=3, chance=None):
        self.trainer, self.every, self.chance = trainer, every, chance
        self.losses = deque(maxlen=self.WINDOW + self.RECENT)
        self.checkpoints = deque(maxlen=keep)
        self.start = self._take()
        self.last_steady = trainer.steps          # the last step at which the loss was at its level

    def after_step(self, loss):
        """Judge the step just taken (`loss`: its mean batch loss). -> None, or what diverged:
        {'reason', 'loss', 'level' (the median before, or None), 'steps' (since the loss was last at
        its level), 'step', 'examples'}."""
        t = self.trainer
        reason = self._bad_number(loss)
        level, recent = self._level(float(loss))
        if reason is None and level is not None and recent > self.FACTOR * level and recent > level + self.MARGIN:
            reason = f'the loss rose from {level:.3g} to {recent:.3g}'
        if reason is None and self.chance and len(self.losses) >= self.RECENT - 1:
            early = float(np.mean([*list(self.losses)[-(self.RECENT - 1):], float(loss)]))
            if early > self.CHANCE_FACTOR * self.chance:
                reason = f'the loss is {early:.3g}, {early / self.chance:.0f} times that of guessing ({self.chance:.3g})'
        if reason is not None:        # a diverged loss does not join the level it is judged by
            return {'reason': reason, 'loss': float(loss) if math.isfinite(loss) else str(loss), 'level': level,
                    'steps': t.steps - self.last_steady, 'step': t.steps, 'examples': t.examples}
        self.losses.append(float(loss))
        if level is None or recent <= self.STEADY * level:
            self.last_steady = t.steps
            latest = self.checkpoints[-1]['steps'] if self.checkpoints else self.start['steps']
            if level is not None and t.steps - latest >= self.every:
                self.checkpoints.append(self._take())
        return None

    def _bad_number(self, loss):
        if not math.isfinite(loss):
            return f'the loss is {loss}'
        for (i, name), layer, _ in self.trainer.params():
            for what, arrays in (('weights', layer.params), ('gradients', layer.grads)):
                total = float(np.sum(arrays[name], dtype=np.float64))
                if not math.isfinite(total):
                    kind = 'not a number' if math.isnan(total) else 'infinite'
                    return f'the {what} {name!r} of layer {i} ({layer.type}) are {kind}'
        return None

    def _level(self, loss):
        """(median of the losses before the recent ones, mean of the recent ones, `loss` the last of
        them), or (None, None) while fewer are known."""
        values = [*self.losses, loss][-(self.WINDOW + self.RECENT):]
        if len(values) < self.WINDOW + self.RECENT:
            return None, None
        return float(np.median(values[:-self.RECENT])), float(np.mean(values[-self.RECENT:]))

    def accept(self):
        """Go on from here without rolling back: the level is learnt afresh (non-finite numbers are
        still caught at once)."""
        self.losses.clear()
        self.last_steady = self.trainer.steps

    def _take(self):
        t = self.trainer
        return {'steps': t.steps, 'examples': t.examples, 'rule': RULES[t.options.method],
                'params': {key: layer.params[name].copy() for key, layer, name in t.params()},
                'state': {key: {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in buffers.items()}
                          for key, buffers in t.state.items()}}

    def rollback(self):
        """Restore the latest checkpoint (the start when there is none); -> {'steps', 'examples'} it
        went back to. The trainer's options are not touched."""
        c = self.checkpoints[-1] if self.checkpoints else self.start
        t = self.trainer
        for key, layer, name in t.params():
            layer.params[name][...] = c['params'][key]
        # Buffers of another update rule mean something else (sgd's velocity, adagrad's sum of squares):
        # after a change of method the rule starts afresh, as Trainer.set does.
        t.state = {key: {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in buffers.items()}
                   for key, buffers in c['state'].items()} if c['rule'] is RULES[t.options.method] else {}
        t.steps, t.examples = c['steps'], c['examples']
        self.losses.clear()
        self.last_steady = t.steps
        return {'steps': c['steps'], 'examples': c['examples']}
