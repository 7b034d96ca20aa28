"""Declarative layer specs in ConvNetJS's vocabulary: validation, expansion and shape planning.

Nothing here allocates arrays; every mistake is reported as a PycoreError naming the layer.
"""
import json
import math

from .errors import PycoreError

ACTIVATION_TYPES = ('relu', 'lrelu', 'elu', 'selu', 'sigmoid', 'tanh', 'softplus')
LOSS_TYPES = ('softmax', 'svm', 'regression')
_MUL = {'l1_decay_mul': 0.0, 'l2_decay_mul': 1.0}

# type -> {key: default}; REQUIRED marks keys without a default.
REQUIRED = object()
KEYS = {
    'input': {'out_sx': REQUIRED, 'out_sy': None, 'out_depth': 1},
    'conv': {'sx': REQUIRED, 'sy': None, 'filters': REQUIRED, 'stride': 1, 'pad': 0,
             'activation': None, 'bias_pref': None, 'drop_prob': None, **_MUL},
    'fc': {'num_neurons': REQUIRED, 'activation': None, 'bias_pref': None, 'drop_prob': None, **_MUL},
    'pool': {'sx': REQUIRED, 'sy': None, 'stride': 2, 'pad': 0},
    'avgpool': {'sx': REQUIRED, 'sy': None, 'stride': 2, 'pad': 0},
    'dropout': {'drop_prob': 0.5},
    'shuffle': {'seed': 0},
    'relu': {}, 'selu': {}, 'sigmoid': {}, 'tanh': {}, 'softplus': {},
    'lrelu': {'alpha': 0.01}, 'elu': {'alpha': 1.0},
    'softmax': {'num_classes': REQUIRED},
    'svm': {'num_classes': REQUIRED},
    'regression': {'num_neurons': REQUIRED},
}
MAX_PARAMS = 20_000_000
MAX_VALUES_PER_EXAMPLE = 4_000_000


def parse(text):
    """A spec from JSON text (never evaluated as code)."""
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as e:
        raise PycoreError(f'the network spec is not valid JSON: {e.msg} at line {e.lineno}, '
                          f'column {e.colno}') from None
    return spec


def expand(spec):
    """Validate a user spec and apply ConvNetJS's conveniences.

    Returns a list of complete layer dicts (every key present), each with 'src': the index of
    the user's layer it came from. An `activation` key adds that activation layer, `drop_prob`
    on conv/fc adds a dropout layer, a loss layer gets the fc layer that produces its scores,
    and a conv/fc layer followed by a relu starts with bias 0.1 unless bias_pref is given.
    """
    if not isinstance(spec, list) or not spec:
        raise PycoreError('a network spec must be a non-empty list of layer objects, '
                          'e.g. [{"type": "input", "out_sx": 24, "out_sy": 24, "out_depth": 1}, ...]')
    layers = []
    for i, d in enumerate(spec):
        d = _complete(i, d)
        t = d['type']
        if t in ('softmax', 'svm'):
            layers.append(_fc_for_loss(i, d['num_classes']))
        elif t == 'regression':
            layers.append(_fc_for_loss(i, d['num_neurons']))
        layers.append(d)
        if d.get('activation') is not None:
            layers.append(_complete(i, {'type': d['activation']}))
        if t in ('conv', 'fc') and d['drop_prob'] not in (None, 0):
            layers.append(_complete(i, {'type': 'dropout', 'drop_prob': d['drop_prob']}))
    for k, d in enumerate(layers):
        if d['type'] in ('conv', 'fc') and d['bias_pref'] is None:
            nxt = layers[k + 1]['type'] if k + 1 < len(layers) else None
            d['bias_pref'] = 0.1 if nxt == 'relu' else 0.0
    _check_order(layers)
    return layers


def _fc_for_loss(i, n):
    return {'type': 'fc', 'num_neurons': n, 'activation': None, 'bias_pref': 0.0, 'drop_prob': None,
            'l1_decay_mul': 0.0, 'l2_decay_mul': 1.0, 'src': i}


def _complete(i, d):
    if not isinstance(d, dict):
        raise PycoreError(f'layer {i}: each layer must be an object like {{"type": "conv", ...}}, '
                          f'got {json.dumps(d)[:60]}')
    t = d.get('type')
    if not isinstance(t, str) or t not in KEYS:
        known = ', '.join(KEYS)
        raise PycoreError(f'layer {i}: unknown layer type {json.dumps(t)}; known types: {known}')
    allowed = KEYS[t]
    unknown = sorted(set(d) - set(allowed) - {'type'})
    if unknown:
        raise PycoreError(f'layer {i} ({t}): unknown key {json.dumps(unknown[0])}; '
                          f'{t} layers take: {", ".join(allowed) or "no keys"}')
    out = {'type': t, 'src': i}
    for key, default in allowed.items():
        if key in d:
            out[key] = _check_value(i, t, key, d[key])
        elif default is REQUIRED:
            raise PycoreError(f'layer {i} ({t}): missing required key "{key}"')
        else:
            out[key] = default
    for a, b in (('out_sy', 'out_sx'), ('sy', 'sx')):
        if a in out and out[a] is None:
            out[a] = out[b]
    return out


_POSITIVE_INT = {'out_sx', 'out_sy', 'out_depth', 'sx', 'sy', 'filters', 'stride', 'num_neurons'}


def _check_value(i, t, key, v):
    where = f'layer {i} ({t}): "{key}"'
    if key in _POSITIVE_INT or key in ('pad', 'num_classes', 'seed'):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v != int(v):
            raise PycoreError(f'{where} must be a whole number, got {json.dumps(v)}')
        v = int(v)
        lo = 0 if key in ('pad', 'seed') else 2 if key == 'num_classes' else 1
        if v < lo:
            raise PycoreError(f'{where} must be at least {lo}, got {v}')
        return v
    if key == 'activation':
        if v is not None and v not in ACTIVATION_TYPES:
            raise PycoreError(f'{where} must be one of {", ".join(ACTIVATION_TYPES)}, got {json.dumps(v)}')
        return v
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        if v is None and key in ('bias_pref', 'drop_prob'):
            return None
        raise PycoreError(f'{where} must be a number, got {json.dumps(v)}')
    if key == 'drop_prob' and not 0 <= v < 1:
        raise PycoreError(f'{where} must be in [0, 1), got {v}')
    if key in ('l1_decay_mul', 'l2_decay_mul') and v < 0:
        raise PycoreError(f'{where} must not be negative, got {v}')
    return float(v)


def _check_order(layers):
    if layers[0]['type'] != 'input':
        raise PycoreError('layer 0: the first layer must be {"type": "input", "out_sx": ..., '
                          '"out_sy": ..., "out_depth": ...}')
    for d in layers[1:]:
        if d['type'] == 'input':
            raise PycoreError(f'layer {d["src"]} (input): only the first layer can be an input layer')
    losses = [d for d in layers if d['type'] in LOSS_TYPES]
    if not losses or layers[-1]['type'] not in LOSS_TYPES:
        raise PycoreError('the last layer must be a loss layer: softmax, svm or regression')
    if len(losses) > 1:
        raise PycoreError(f'layer {losses[0]["src"]} ({losses[0]["type"]}): only the last layer can '
                          f'be a loss layer')


def plan(spec):
    """Expand a spec and compute every layer's shapes and parameter counts without allocating.

    Returns a list of dicts: the layer's complete definition plus 'in_shape' and 'out_shape'
    ((C, H, W) of one example), 'formula' (how the output size was computed), 'params'
    (parameter count) and 'params_formula' (e.g. '8x5x5x1+8 = 208').
    """
    layers = expand(spec)
    shape = None
    total = 0
    for d in layers:
        t = d['type']
        formula, params, pformula = '', 0, ''
        if t == 'input':
            out = (d['out_depth'], d['out_sy'], d['out_sx'])
            formula = f'{d["out_sx"]}x{d["out_sy"]}x{d["out_depth"]}'
        elif t == 'conv':
            C, H, W = shape
            Ho, fh = _window_size(d, 'conv', 'filter', H, d['sy'], W, d['sx'])
            out = (d['filters'], Ho[0], Ho[1])
            formula = fh
            F = d['filters']
            params = F * d['sx'] * d['sy'] * C + F
            pformula = f'{F}x{d["sx"]}x{d["sy"]}x{C}+{F} = {params}'
        elif t in ('pool', 'avgpool'):
            C, H, W = shape
            if d['pad'] >= min(d['sx'], d['sy']):
                raise PycoreError(f'layer {d["src"]} ({t}): pad {d["pad"]} must be smaller than the '
                                  f'window {d["sx"]}x{d["sy"]}, or some windows would see only padding')
            Ho, fh = _window_size(d, t, 'window', H, d['sy'], W, d['sx'])
            out = (C, Ho[0], Ho[1])
            formula = fh
        elif t == 'fc':
            D = shape[0] * shape[1] * shape[2]
            M = d['num_neurons']
            out = (M, 1, 1)
            params = M * D + M
            pformula = f'{M}x{D}+{M} = {params}'
            formula = f'{shape[2]}x{shape[1]}x{shape[0]} = {D} inputs -> {M}'
        elif t in ('softmax', 'svm'):
            if shape[0] != d['num_classes'] or shape[1:] != (1, 1):
                raise PycoreError(f'layer {d["src"]} ({t}): expects {d["num_classes"]} scores')
            out = shape
        else:
            out = shape
        d.update(in_shape=shape if shape else out, out_shape=out, formula=formula,
                 params=params, params_formula=pformula)
        values = out[0] * out[1] * out[2]
        if values > MAX_VALUES_PER_EXAMPLE:
            raise PycoreError(f'layer {d["src"]} ({t}): output {out[2]}x{out[1]}x{out[0]} = {values} '
                              f'values per example is too large for a browser (limit '
                              f'{MAX_VALUES_PER_EXAMPLE})')
        total += params
        shape = out
    if total > MAX_PARAMS:
        raise PycoreError(f'the network has {total} parameters, more than the {MAX_PARAMS} this tool '
                          f'allows; use fewer filters or neurons')
    return layers


def _window_size(d, t, what, H, KH, W, KW):
    """Output size of a sliding window; exact fits only. Returns ((Ho, Wo), formula)."""
    s, p = d['stride'], d['pad']
    sizes, texts = [], []
    for n, k in ((H, KH), (W, KW)):
        if k > n + 2 * p:
            raise PycoreError(f'layer {d["src"]} ({t}): a {KW}x{KH} {what} does not fit on a {W}x{H} '
                              f'input with pad {p}: {k} > {n} + 2*{p}')
        exact = (n - k + 2 * p) / s + 1
        text = f'({n} - {k} + 2*{p})/{s} + 1 = {_num(exact)}'
        if exact != int(exact):
            raise PycoreError(f'layer {d["src"]} ({t}): a {KW}x{KH} {what} with stride {s} on a '
                              f'{W}x{H} input does not fit: {text}; change sx, stride or pad so that '
                              f'this is a whole number')
        sizes.append(int(exact))
        texts.append(text)
    formula = texts[0] if texts[0] == texts[1] else f'H: {texts[0]}, W: {texts[1]}'
    return tuple(sizes), formula


def _num(v):
    return str(int(v)) if v == int(v) else f'{v:.2f}'
