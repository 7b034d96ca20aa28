"""The charts' history of a run: a point every EVERY examples of the mean losses and the moving
accuracies, kept to at most MAX_POINTS points by merging neighbours, and marks (a divergence, a
rollback) at given examples, saved and loaded with the run."""
import json


class History:
    EVERY = 500               # examples between points
    MAX_POINTS = 2000         # past this, neighbouring points are merged in pairs

    def __init__(self, examples=0, points=None, sums=(0.0, 0.0, 0)):
        """examples: the trainer's count now (the next point comes EVERY examples later)."""
        self.points = points or {'loss': [], 'accuracy': []}
        self.points.setdefault('marks', [])      # [examples, text]
        self.since = examples
        self.sums = list(sums)    # classification loss, total loss, examples since the last point

    def add(self, examples, loss_sum, decay_sum, n, accuracies, rate=None):
        """A slice's losses (sums over its n examples) at trainer count `examples`, with the moving
        (train, validation, test) accuracies as fractions or None, and the learning rate now (None:
        the update rule has none, as adadelta). -> the new {'loss': point,
        'accuracy': point} when one is due, else None; a point is [examples, {series: value}], with
        accuracies in percent."""
        c = self.sums
        c[0] += loss_sum
        c[1] += loss_sum + decay_sum
        c[2] += n
        if examples < self.since + self.EVERY:
            return None
        pct = [None if v is None else 100 * v for v in accuracies]
        losses = {'loss': c[0] / c[2], 'total': c[1] / c[2]}
        if rate is not None:
            losses['rate'] = rate
        point = {'loss': [examples, losses],
                 'accuracy': [examples, dict(zip(('train', 'validation', 'test'), pct))]}
        for key, p in point.items():
            self.points[key].append(p)
            if len(self.points[key]) > self.MAX_POINTS:
                self.points[key] = merge_pairs(self.points[key])
        self.since, self.sums = examples, [0.0, 0.0, 0]
        return point

    def clear(self):
        self.points = {'loss': [], 'accuracy': [], 'marks': []}

    def mark(self, examples, text):
        self.points['marks'].append([examples, text])

    def truncate(self, examples):
        """Back to trainer count `examples` (a rollback): the points after it go; the marks stay."""
        for key in ('loss', 'accuracy'):
            self.points[key] = [p for p in self.points[key] if p[0] <= examples]
        self.since, self.sums = examples, [0.0, 0.0, 0]

    def to_state(self):
        """What a run file keeps (the session state's keys)."""
        return {'history': self.points, 'chart_from': self.since, 'chart_sum': self.sums}

    @classmethod
    def from_state(cls, state, page, examples):
        """The history of a loaded run: the session's own, or (older files) the page's charts, with
        the next point due EVERY examples after the trainer's count `examples`.
        Raises ValueError, KeyError or TypeError for malformed values."""
        if 'history' in state:
            h, c = state['history'], state['chart_sum']
            marks = [[float(x), str(t)] for x, t in h.get('marks', [])]
            return cls(int(state['chart_from']), {'loss': _checked(h['loss']), 'accuracy': _checked(h['accuracy']),
                                                  'marks': marks}, (float(c[0]), float(c[1]), int(c[2])))
        charts = page.get('charts') if isinstance(page, dict) else None
        points = {k: _checked(charts.get(k, [])) for k in ('loss', 'accuracy')} if isinstance(charts, dict) else None
        return cls(examples, points)


def merge_pairs(points):
    """Halve a history: neighbouring points averaged in pairs (a lone last point kept)."""
    merged = []
    for a, b in zip(points[0::2], points[1::2]):
        values = {}
        for k in set(a[1]) | set(b[1]):
            v = [p[1].get(k) for p in (a, b) if p[1].get(k) is not None]
            values[k] = sum(v) / len(v) if v else None
        merged.append([(a[0] + b[0]) / 2, values])
    if len(points) % 2:
        merged.append(points[-1])
    return merged


def _checked(value):
    """Chart points from a file, checked: [[examples, {series: number or None}], ...]."""
    if not isinstance(value, list):
        raise ValueError('chart history must be a list')
    out = []
    for p in value:
        if not (isinstance(p, list) and len(p) == 2 and isinstance(p[0], (int, float)) and isinstance(p[1], dict)):
            raise ValueError(f'bad chart point {json.dumps(p)[:60]}')
        out.append([p[0], {str(k): (float(v) if isinstance(v, (int, float)) else None) for k, v in p[1].items()}])
    return out
