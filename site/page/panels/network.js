// The network panel: the spec editor with presets, and one box per layer with its activations,
// gradients, weights and weight gradients, repainted from the run's snapshots within a frame budget.
// The URL's `layers` and `show` choose which boxes and rows it builds; `refresh` how often it repaints.
import { buildNormalizationControl, drawSnapshot, rowCount, setClassNames } from '../views/draw.js';
import { buildLayers, buildSome } from '../views/layerbox.js';
import { reducedMotion } from '../views/viewstate.js';
import { message } from './message.js';

const SNAPSHOT_MS = 70;       // live: ask for a layer snapshot this often; the round trip makes it ~12 per second
const CALM_MS = 1000;         // ...and this often for a visitor who asked for less motion
const UNSEEN_MS = 2000;       // ...and this often while no box is near sight (each snapshot is every layer's data)
const FRAME_BUDGET_MS = 3;    // layer-view painting per animation frame (8 ms still gave 50-80 ms tasks)
const SHOWN_PER_FRAME = 6;    // canvases painted for the first time per frame: each costs the browser
                              // ~1 ms (compositor set-up) outside the script's own time
const EMBED_GROWTH = 4;       // an embed's maps and filters may grow to 4x their size to fill its lines
const BUILD_BUDGET_MS = 2;    // layer-view building per frame, a canvas at a time: the page's layout and
                              // compositing of new canvases cost several times the script's own time

/** Layer names as the URL uses them: the type and a count per type from 1 (conv1, relu1, pool1...). */
export function layerNames(layers) {
  const seen = {};
  return layers.map((L) => `${L.type}${(seen[L.type] = (seen[L.type] || 0) + 1)}`);
}

export function mount(root, ctx) {
  const q = (name) => root.querySelector(`[data-control="${name}"]`);
  const specText = root.querySelector('[data-control="spec"]');
  const preset = root.querySelector('[data-control="preset"]');
  const specNote = root.querySelector('[data-message="spec"]');
  const layersEl = root.querySelector('[data-role="layers"]');
  const focusLabel = root.querySelector('[data-role="focus-label"]');
  const { layers: chosen, show, refresh } = ctx.url;
  const period = refresh === 'live' ? (reducedMotion() ? CALM_MS : SNAPSHOT_MS) : refresh === 'hold' ? Infinity : 1000 * refresh;
  let presets = {}, views = [];
  let latest = null, painting = null, paintFrom = 0, painted = 0, lastPainted = null;
  let pending = false, lastAsk = -Infinity, layerNote = '';

  // A spec typed or a preset chosen and not applied is the user's draft: a new network from
  // elsewhere (a reset, a rollback, another embed's change) leaves it in the editor.
  let draft = false;
  specText.addEventListener('input', () => { draft = true; });
  q('change-network').addEventListener('click', async () => {
    draft = false;           // the network that comes of it shows its spec, unless typed into meanwhile
    const net = await ctx.changeNetwork('spec', { text: specText.value }, specNote);
    if (!net) { draft = true; return; }
    message(specNote, `Now training the new network (${net.param_count.toLocaleString('en-US')} parameters).`, false);
    const named = Object.entries(presets).find(([, p]) => sameSpec(p.spec, net.spec));
    ctx.setUrl(named ? { preset: named[0], spec: null } : { preset: null, spec: JSON.stringify(JSON.parse(net.spec)) });
  });
  preset.addEventListener('change', () => {
    const p = presets[preset.value];
    if (p) { specText.value = JSON.stringify(p.spec, null, 1); draft = true; }
    message(specNote, 'Press "Change network" to train this network.', false);
  });
  q('follow-training').addEventListener('click', () => ctx.focus({ kind: 'training' }).catch(() => {}));
  buildNormalizationControl(root.querySelector('[data-role="normalization"]'));
  root.querySelector('[data-role="normalization"]').addEventListener('change', () => ask(true));

  function ask(force = false) {
    if (pending && !force) return;
    pending = true; lastAsk = performance.now();
    ctx.request('snapshot').catch(() => { pending = false; });
  }

  // Which boxes: every layer, or those the URL names (by index or name); names it does not know are reported.
  function pickLayers(layers) {
    if (!chosen) return null;
    const names = layerNames(layers);
    const keep = new Set(), unknown = [];
    for (const item of chosen) {
      const i = /^\d+$/.test(item) ? Number(item) : names.indexOf(item);
      if (i >= 0 && i < layers.length) keep.add(i); else unknown.push(item);
    }
    const note = unknown.length ? `${unknown.join(', ')}: this network has no such layer; it has ${names.join(', ')}` : '';
    if (note && note !== layerNote) ctx.note('layers', chosen.join(','), note);
    layerNote = note;
    return keep.size ? keep : null;
  }

  // Layer views within a frame budget: first the rows still to build, then the newest snapshot, row
  // by row. A newer snapshot that arrives mid-way takes over from the same row and wraps round (so
  // no row starves when snapshots come faster than one can be painted whole); a round ends when
  // every row shows the same snapshot.
  function paintViews(end) {
    const built = buildSome(BUILD_BUDGET_MS);
    if (built === 'busy') return;
    if (built === 'done') {
      painting = latest || painting || lastPainted; latest = null; painted = 0;
      if (!painting) ask(true);     // rows made before any snapshot was painted (paused): they need one
    }
    // A box that came into sight shows an older snapshot than the rest (drawSnapshot passed over it
    // while the browser skipped it): a round repaints it, from the last snapshot if none is newer.
    if (!painting && !latest && lastPainted && views.some((v) => !v.skipped && v.rows.some((row) => row.stale))) latest = lastPainted;
    if (latest) { painting = latest; latest = null; painted = 0; }
    // (With no rows made, as when every box is far from sight, a round only sets the boxes' text.)
    const rows = rowCount(views);
    while (painting && performance.now() < end) {
      const next = drawSnapshot(views, painting, paintFrom, end - performance.now(), SHOWN_PER_FRAME);
      painted += next - paintFrom;
      paintFrom = rows ? next % rows : 0;
      if (next < rows && painted < rows) break;   // stopped early: the frame's budget is spent
      if (painted >= rows) {
        lastPainted = painting; painting = null; painted = 0;
        document.dispatchEvent(new Event('views-painted'));   // every view shows one snapshot (for benchmarks)
      }
    }
  }

  return {
    onNet(net, charts, datasets, presetList) {
      setClassNames(net.classes);
      views = buildLayers(layersEl, net.layers, { only: pickLayers(net.layers), rows: show ? new Set(show) : null,
                                                  grow: ctx.url.embed ? EMBED_GROWTH : 1 });
      painting = lastPainted = null; paintFrom = 0; painted = 0;
      if (!draft) specText.value = net.spec;
      if (presetList) {
        presets = presetList;
        preset.replaceChildren(new Option('choose a preset…', ''), ...Object.entries(presets).map(([k, p]) => new Option(p.title, k)));
      }
      root.querySelector('[data-role="param-count"]').textContent = `${net.param_count.toLocaleString('en-US')} parameters, seed ${net.seed}`;
      this.onCost(net.cost);
      root.querySelector('[data-role="refresh-note"]').textContent = refresh === 'live' ? ''
        : refresh === 'hold' ? 'views held: they repaint when you step, pause or pick an image'
          : `views repaint every ${refresh} s`;
      focusLabel.textContent = 'the latest training example';
      q('follow-training').hidden = true;
      ask(true);
    },
    onCost(cost) {   // pycore.cost's estimate, for the batch size and update rule in use
      const el = root.querySelector('[data-role="memory"]');
      el.textContent = `training needs about ${(cost.total / 1e6).toFixed(1)} MB per batch of ${cost.batch_size}`;
      el.title = `estimated by pycore.cost: ${cost.text}`;
    },
    onFocus(f, label) {
      focusLabel.textContent = label || f.description;
      q('follow-training').hidden = f.kind === 'training';
      ask(true);
    },
    onSnapshot(snap) { latest = snap; pending = false; },
    onState(state) { if (state !== 'training') ask(true); },
    frame(now, state) {
      paintViews(performance.now() + FRAME_BUDGET_MS);
      // Out of sight (every box far from it), the boxes only keep their ranges' text roughly current.
      const unseen = views.length > 0 && views.every((v) => v.far);
      const every = unseen ? Math.max(period, UNSEEN_MS) : period * (refresh === 'live' ? ctx.slowness() : 1);
      if (state === 'training' && now - lastAsk >= every) ask();
    },
  };
}

function sameSpec(a, text) {
  try { return JSON.stringify(a) === JSON.stringify(JSON.parse(text)); } catch (err) { return false; }
}
