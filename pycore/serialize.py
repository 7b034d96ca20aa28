"""Save and load a whole run as JSON, and import ConvNetJS's net.toJSON() snapshots."""
import base64
import json

import numpy as np

from .errors import PycoreError
from .net import Net
from .trainer import Trainer

FORMAT = 'pycore-run'
VERSION = 1


def _enc(a):
    a = np.ascontiguousarray(a)
    return {'dtype': a.dtype.str.lstrip('<>|='), 'shape': list(a.shape),
            'data': base64.b64encode(a.astype(a.dtype.newbyteorder('<')).tobytes()).decode('ascii')}


def _dec(d, where):
    try:
        dtype = np.dtype(d['dtype']).newbyteorder('<')
        if dtype.kind not in 'fiu':
            raise ValueError(f'dtype {d["dtype"]}')
        raw = base64.b64decode(d['data'], validate=True)
        a = np.frombuffer(raw, dtype=dtype).reshape([int(s) for s in d['shape']])
        return a.astype(dtype.newbyteorder('='))
    except (KeyError, TypeError, ValueError) as e:
        raise PycoreError(f'{where}: not a valid stored array ({e})') from None


def to_json(net, trainer=None, extra=None):
    """The whole run as JSON text: spec, seed, weights, random state, trainer options, buffers,
    step and example counts, and any JSON-able `extra` (e.g. the page's stats history).
    Arrays are stored as base64 of their bytes, so loading restores them bit for bit."""
    doc = {'format': FORMAT, 'version': VERSION, 'spec': net.spec, 'seed': net.seed,
           'dtype': net.dtype.name,
           'params': [{'layer': i, 'name': k, 'array': _enc(v)}
                      for i, layer in enumerate(net.layers) for k, v in layer.params.items()],
           'rng': _rng_state(net), 'extra': extra}
    if trainer is not None:
        doc['trainer'] = {
            'options': trainer.options.__dict__, 'steps': trainer.steps, 'examples': trainer.examples,
            'state': [{'layer': key[0], 'name': key[1],
                       'buffers': {k: (_enc(v) if isinstance(v, np.ndarray) else v) for k, v in st.items()}}
                      for key, st in trainer.state.items()]}
    return json.dumps(doc, separators=(',', ':'))


def from_json(text):
    """Rebuild (net, trainer or None, extra) from to_json's output. Raises PycoreError on bad input."""
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, TypeError, UnicodeDecodeError) as e:
        raise PycoreError(f'the saved run is not valid JSON: {e}') from None
    if not isinstance(doc, dict) or doc.get('format') != FORMAT:
        if isinstance(doc, dict) and 'layers' in doc:
            raise PycoreError('this looks like a ConvNetJS net.toJSON() snapshot; import it with '
                              'from_convnetjs instead')
        raise PycoreError(f'not a saved run: expected "format": "{FORMAT}"')
    if doc.get('version') != VERSION:
        raise PycoreError(f'saved run version {doc.get("version")!r} is not supported (expected {VERSION})')
    if doc.get('dtype') not in ('float32', 'float64'):
        raise PycoreError(f'the saved run is incomplete or malformed: its dtype must be "float32" or "float64", '
                          f'got {json.dumps(doc.get("dtype"))[:40]}')
    try:
        net = Net.from_spec(doc['spec'], seed=doc['seed'], dtype=np.dtype(doc['dtype']))
        for p in doc['params']:
            _assign(net, p['layer'], p['name'], _dec(p['array'], f'layer {p["layer"]} {p["name"]}'))
        saved = {(int(p['layer']), p['name']) for p in doc['params']}
        missing = [(i, k) for i, layer in enumerate(net.layers) for k in layer.params if (i, k) not in saved]
        if missing:
            raise PycoreError(f'the saved run has no weights for layer {missing[0][0]} {missing[0][1]!r}')
        if doc.get('rng') is not None:
            _set_rng_state(net, doc['rng'])
        trainer = None
        if doc.get('trainer') is not None:
            t = doc['trainer']
            trainer = Trainer(net, **t['options'])
            trainer.steps, trainer.examples = int(t['steps']), int(t['examples'])
            for st in t['state']:
                where = f'trainer buffer of layer {st["layer"]} {st["name"]}'
                if st['name'] not in net.layers[st['layer']].params:
                    raise PycoreError(f'{where}: the net has no such parameter')
                param = net.layers[st['layer']].params[st['name']]
                buffers = {k: (_dec(v, where) if isinstance(v, dict) else int(v))
                           for k, v in st['buffers'].items()}
                for k, v in buffers.items():
                    if isinstance(v, np.ndarray) and v.shape != param.shape:
                        raise PycoreError(f'{where}: buffer {k!r} has shape {v.shape}, '
                                          f'the parameter {param.shape}')
                trainer.state[(st['layer'], st['name'])] = buffers
    except PycoreError:
        raise
    except (KeyError, TypeError, IndexError, AttributeError, ValueError) as e:
        raise PycoreError(f'the saved run is incomplete or malformed: {type(e).__name__} {e}') from None
    return net, trainer, doc.get('extra')


def _assign(net, i, name, value):
    try:
        target = net.layers[int(i)].params[name]
    except (IndexError, KeyError, ValueError):
        raise PycoreError(f'the saved weights name layer {i} parameter {name!r}, which this net lacks') from None
    if target.shape != value.shape:
        raise PycoreError(f'layer {i} {name}: saved shape {value.shape} does not match the net\'s {target.shape}')
    target[...] = value


def _rng_state(net):
    for layer in net.layers:
        if hasattr(layer, 'rng'):
            s = layer.rng.bit_generator.state
            return json.loads(json.dumps(s, default=int), parse_int=str)   # big ints as strings for JS
    return None


def _set_rng_state(net, state):
    def ints(v):
        if isinstance(v, dict):
            return {k: ints(x) for k, x in v.items()}
        return int(v) if isinstance(v, str) and v.lstrip('-').isdigit() else v
    for layer in net.layers:
        if hasattr(layer, 'rng'):
            try:
                layer.rng.bit_generator.state = ints(state)
            except (ValueError, TypeError, KeyError) as e:
                raise PycoreError(f'the saved random state is invalid: {e}') from None


def from_convnetjs(source):
    """A Net from ConvNetJS's net.toJSON() (a dict or its JSON text), weights included.

    ConvNetJS stores volumes x-fastest then depth as ((W*y)+x)*depth+d; they are reordered to NCHW.
    """
    try:
        doc = json.loads(source) if isinstance(source, (str, bytes)) else source
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise PycoreError(f'the ConvNetJS snapshot is not valid JSON: {e}') from None
    if not isinstance(doc, dict) or not isinstance(doc.get('layers'), list):
        raise PycoreError('not a ConvNetJS snapshot: expected an object with a "layers" list')
    L = doc['layers']
    try:
        spec, weighted = [], []
        for k, d in enumerate(L):
            t = d['layer_type']
            nxt = L[k + 1]['layer_type'] if k + 1 < len(L) else None
            if t == 'input':
                spec.append({'type': 'input', 'out_sx': d['out_sx'], 'out_sy': d['out_sy'],
                             'out_depth': d['out_depth']})
            elif t == 'conv':
                spec.append({'type': 'conv', 'sx': d['sx'], 'sy': d['sy'], 'filters': d['out_depth'],
                             'stride': d['stride'], 'pad': d['pad'], 'l1_decay_mul': d['l1_decay_mul'],
                             'l2_decay_mul': d['l2_decay_mul']})
                weighted.append(d)
            elif t == 'fc':
                if nxt not in ('softmax', 'svm', 'regression'):
                    spec.append({'type': 'fc', 'num_neurons': d['out_depth'],
                                 'l1_decay_mul': d['l1_decay_mul'], 'l2_decay_mul': d['l2_decay_mul']})
                weighted.append(d)
            elif t == 'pool':
                spec.append({'type': 'pool', 'sx': d['sx'], 'sy': d['sy'], 'stride': d['stride'],
                             'pad': d['pad']})
            elif t in ('relu', 'sigmoid', 'tanh'):
                spec.append({'type': t})
            elif t == 'dropout':
                spec.append({'type': 'dropout', 'drop_prob': d['drop_prob']})
            elif t in ('softmax', 'svm'):
                spec.append({'type': t, 'num_classes': d['out_depth']})
            elif t == 'regression':
                spec.append({'type': t, 'num_neurons': d['out_depth']})
            else:
                raise PycoreError(f'ConvNetJS layer {k} has type {t!r}, which pycore does not support')
        net = Net.from_spec(spec)
        ours = [layer for layer in net.layers if layer.type in ('conv', 'fc')]
        for k, (layer, d) in enumerate(zip(ours, weighted)):
            w = np.stack([_vol(f) for f in d['filters']])            # (F, H, W, C) as ConvNetJS orders it
            if layer.type == 'conv':
                w = w.reshape(layer.params['w'].shape[0], d['sy'], d['sx'], -1).transpose(0, 3, 1, 2)
            else:
                C, H, W = layer.in_shape
                w = w.reshape(-1, H, W, C).transpose(0, 3, 1, 2).reshape(len(w), -1)
            b = _vol(d['biases'])
            if w.shape != layer.params['w'].shape or b.shape != layer.params['b'].shape:
                raise PycoreError(f'ConvNetJS {layer.type} layer {k}: weights of shape {w.shape} do not fit '
                                  f'{layer.params["w"].shape}')
            layer.params['w'][...] = w
            layer.params['b'][...] = b
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, PycoreError):
            raise
        raise PycoreError(f'the ConvNetJS snapshot is incomplete or malformed: {type(e).__name__} {e}') from None
    return net


def _vol(v):
    """A ConvNetJS Vol's values as a flat array; JSON.stringify writes typed arrays as {"0": ...}."""
    w = v['w']
    if isinstance(w, dict):
        w = [w[str(i)] for i in range(len(w))]
    return np.asarray(w, dtype=np.float64)
