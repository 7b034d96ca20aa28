"""Update rules. Each is update(p, g, state, o): changes parameter p in place given its gradient
g, its own state dict (buffers created on first use) and the trainer options o.

The rules follow ConvNetJS's trainers, except Adam, which applies the bias correction properly.
"""
import numpy as np


def _buf(state, name, p):
    if name not in state:
        state[name] = np.zeros_like(p)
    return state[name]


def sgd(p, g, state, o):
    if o.momentum > 0:
        v = _buf(state, 'gsum', p)           # velocity: v = momentum * v - lr * g
        v *= o.momentum
        v -= o.learning_rate * g
        p += v
    else:
        p -= o.learning_rate * g


def nesterov(p, g, state, o):
    v = _buf(state, 'gsum', p)
    prev = v.copy()
    v *= o.momentum
    v += o.learning_rate * g
    p += o.momentum * prev - (1 + o.momentum) * v


def adagrad(p, g, state, o):
    s = _buf(state, 'gsum', p)               # running sum of squared gradients
    s += g * g
    p -= o.learning_rate * g / np.sqrt(s + o.eps)


def windowgrad(p, g, state, o):
    s = _buf(state, 'gsum', p)               # decaying mean of squared gradients (RMSProp)
    s *= o.ro
    s += (1 - o.ro) * g * g
    p -= o.learning_rate * g / np.sqrt(s + o.eps)


def adadelta(p, g, state, o):
    s = _buf(state, 'gsum', p)               # decaying mean of squared gradients
    d = _buf(state, 'xsum', p)               # decaying mean of squared updates
    s *= o.ro
    s += (1 - o.ro) * g * g
    dx = -np.sqrt((d + o.eps) / (s + o.eps)) * g
    d *= o.ro
    d += (1 - o.ro) * dx * dx
    p += dx


def adam(p, g, state, o):
    m = _buf(state, 'm', p)
    v = _buf(state, 'v', p)
    t = state['t'] = state.get('t', 0) + 1
    m *= o.beta1
    m += (1 - o.beta1) * g
    v *= o.beta2
    v += (1 - o.beta2) * g * g
    m_hat = m / (1 - o.beta1 ** t)
    v_hat = v / (1 - o.beta2 ** t)
    p -= o.learning_rate * m_hat / (np.sqrt(v_hat) + o.eps)


# Rules that take no learning rate: adadelta sizes its steps from its own running averages.
RATELESS = frozenset({'adadelta'})

RULES = {'sgd': sgd, 'momentum': sgd, 'nesterov': nesterov, 'adagrad': adagrad,
         'windowgrad': windowgrad, 'adadelta': adadelta, 'adam': adam}
