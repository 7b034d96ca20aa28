"""Learning-rate schedules: the rate of update t (t = 0 for the first) from the trainer's options.

A rate is a function of the options and the count of updates done, nothing else, so a saved run
continues on the same schedule bit for bit. The closed forms are those of PyTorch's schedulers
stepped once per update:
  constant      learning_rate
  step          learning_rate * gamma ** (t // step_size)                        (StepLR)
  exponential   learning_rate * gamma ** t                                       (ExponentialLR)
  cosine        min_rate + (learning_rate - min_rate) * (1 + cos(pi * t / total_steps)) / 2,
                then min_rate after total_steps                                  (CosineAnnealingLR)
and, with warmup_steps W > 0, times (1 + min(t, W)) / (W + 1): a linear warm-up from
1/(W + 1) of the rate to all of it over W updates (LinearLR with start_factor 1/(W + 1)).
"""
import math

SCHEDULES = ('constant', 'step', 'exponential', 'cosine')


def rate(o, t):
    """The learning rate of update t under options o (a TrainerOptions)."""
    lr = o.learning_rate
    if o.schedule == 'step':
        lr = lr * o.gamma ** (t // o.step_size)
    elif o.schedule == 'exponential':
        lr = lr * o.gamma ** t
    elif o.schedule == 'cosine':
        lr = o.min_rate + (lr - o.min_rate) * (1 + math.cos(math.pi * min(t, o.total_steps) / o.total_steps)) / 2
    if o.warmup_steps:
        lr = lr * (1 + min(t, o.warmup_steps)) / (o.warmup_steps + 1)
    return lr
