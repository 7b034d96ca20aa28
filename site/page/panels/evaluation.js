// The whole test set: confusion matrix with per-class accuracy, a cell's images, the most confident mistakes.
import { renderConfusion, renderGallery } from '../views/predictions.js';

const EVALUATE_MS = 60000;    // re-score the whole test set after this much training (costs ~5% of it)
const FIRST_MS = 3000;        // the first score: this much training after the whole test set has arrived
const MIN_TRAINED_MS = 5000;  // and never before this much training
const ABOUT = 'Click a cell to list its images; click any image to show it in the network view.';

// What the note says of the next scoring: ms of training left (null: waiting for test images).
function nextText(left, stats, state) {
  if (left === null) {
    const have = stats ? `${stats.test_loaded.toLocaleString('en-US')} of ${stats.test_count.toLocaleString('en-US')}` : 'the';
    return `Scored when the test images have arrived (${have} so far) and training has run for a few seconds.`;
  }
  const s = Math.max(1, Math.ceil(left / 1000));
  const when = state === 'training' ? `in ${s} s` : `after ${s} s more of training`;
  return `Recomputed every minute of training; next ${when}.`;
}

export function mount(root, ctx) {
  const note = root.querySelector('[data-role="evaluation-note"]');
  const table = root.querySelector('[data-role="confusion"]');
  const cellList = root.querySelector('[data-role="cell-list"]');
  const mistakes = root.querySelector('[data-role="mistakes"]');
  const announce = root.querySelector('[data-role="evaluation-announce"]');   // a result, said once
  // The schedule counts training time only: a paused run is not re-scored, and a new net (or a
  // loaded run) is scored a few seconds after it starts.
  let trained = 0, due = null, prev = null, running = false, stats = null, result = '', shown = '';
  function evaluate() {
    running = true; due = trained + EVALUATE_MS;
    shown = ''; note.textContent = 'Scoring every loaded test image…';
    ctx.request('evaluate').catch((err) => { running = false; result = err.message; });
  }
  root.querySelector('[data-control="evaluate"]').addEventListener('click', evaluate);
  async function showCell(t, p) {
    const classes = ctx.classes();
    try {
      const cell = await ctx.request('cell', { true: t, pred: p });
      renderGallery(cellList, cell.images, classes, ctx.pick,
        `${cell.total} test images of class ${classes[t]} predicted as ${classes[p]}`
        + (cell.total > cell.images.length ? ` (first ${cell.images.length} shown)` : ''));
    } catch (err) {
      cellList.textContent = err.message;
    }
  }
  return {
    onNet() { trained = 0; due = null; stats = null; result = ''; },
    onStats(s) {
      stats = s;
      if (due === null && s.test_loaded === s.test_count) due = Math.max(trained + FIRST_MS, MIN_TRAINED_MS);
    },
    onEvaluation(msg) {
      if (!running) due = trained + EVALUATE_MS;     // another page of a shared run asked for it
      running = false;
      if (msg.error) { result = msg.error; return; }
      renderConfusion(table, msg.result, showCell);
      announce.textContent = `Whole test set scored: ${table.caption ? table.caption.textContent : ''}`;
      renderGallery(mistakes, msg.result.mistakes, msg.result.classes, ctx.pick);
      result = '';
    },
    frame(now, state) {
      if (state === 'training' && prev !== null) trained += Math.min(now - prev, 1000);   // a hidden tab's gap is not training
      prev = now;
      if (state === 'training' && due !== null && trained >= due && !running) evaluate();
      if (running) return;
      const text = `${result ? result + ' ' : ''}${nextText(due === null ? null : due - trained, stats, state)} ${ABOUT}`;
      if (text !== shown) { shown = text; note.textContent = text; }
    },
  };
}
