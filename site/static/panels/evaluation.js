// The whole test set: confusion matrix with per-class accuracy, a cell's images, the most confident mistakes.
import { renderConfusion, renderGallery } from '../predictions.js';

const EVALUATE_MS = 60000;    // re-score the whole test set this often while training (costs ~5% of training)
const ABOUT = 'Recomputed every minute while training. Click a cell to list its images; '
  + 'click any image to show it in the network view.';

export function mount(root, ctx) {
  const note = root.querySelector('[data-role="evaluation-note"]');
  const table = root.querySelector('[data-role="confusion"]');
  const cellList = root.querySelector('[data-role="cell-list"]');
  const mistakes = root.querySelector('[data-role="mistakes"]');
  let last = performance.now(), running = false;
  function evaluate() {
    running = true; last = performance.now();
    note.textContent = 'Scoring every loaded test image…';
    ctx.request('evaluate').catch((err) => { running = false; note.textContent = err.message; });
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
    onEvaluation(msg) {
      running = false;
      if (msg.error) { note.textContent = msg.error; return; }
      renderConfusion(table, msg.result, showCell);
      renderGallery(mistakes, msg.result.mistakes, msg.result.classes, ctx.pick);
      note.textContent = ABOUT;
    },
    frame(now, state) {
      if (state === 'training' && now - last >= EVALUATE_MS && !running) evaluate();
    },
  };
}
