// Saving and loading a whole run (spec, weights, trainer state, statistics and charts), and the runs
// saved in this browser (runstore.js): each tab's, each embed's, and runs kept aside.
import { forgetRun, listRuns, loadRun } from '../../common/runstore.js';
import { el } from '../views/viewstate.js';
import { message } from './message.js';

const LIST_MS = 15000;        // the saved runs' list is read again this often

const MAX_FILE = 200e6;

export function mount(root, ctx) {
  const q = (name) => root.querySelector(`[data-control="${name}"]`);
  const note = root.querySelector('[data-message="file"]');
  q('save').addEventListener('click', async () => {
    try {
      const text = await ctx.request('save');
      const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
      const a = Object.assign(document.createElement('a'), { href: url, download: 'live-cnn-run.json' });
      document.body.append(a); a.click(); a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
      message(note, `Saved (${(text.length / 1024).toFixed(0)} KiB).`, false);
    } catch (err) {
      message(note, err.message);
    }
  });
  async function load(text, what) {
    const net = await ctx.changeNetwork('load', { text }, note);
    if (net) message(note, `Loaded ${what}: continuing at ${net.examples.toLocaleString('en-US')} examples.`, false);
  }
  q('load-file').addEventListener('change', async (e) => {
    const file = e.target.files[0];
    if (!file) return;
    if (file.size > MAX_FILE) { message(note, `${file.name} is too large to be a run file`); return; }
    await load(await file.text(), `"${file.name}"`);
    e.target.value = '';
  });
  q('load-paste').addEventListener('click', () => load(root.querySelector('[data-control="paste"]').value, 'the pasted run'));

  const list = root.querySelector('[data-role="saved-runs"]');
  let listed = -Infinity;
  function describe(key, mine) {
    if (key === mine) return 'this tab';
    if (key.startsWith('tab ')) return 'another tab';
    if (key.startsWith('embed ')) return 'an embedded copy (slides)';
    return 'kept aside (this tab moved to another network)';
  }
  async function refresh() {
    listed = performance.now();
    try {
      const [runs, mine] = await Promise.all([listRuns(), ctx.savedKey || null]);
      list.replaceChildren(...(runs.length ? runs.map((r) => {
        const item = el('li', { 'data-key': r.key });
        const open = el('button', { type: 'button', class: 'small', 'data-control': 'saved-load' }, 'Load');
        const drop = el('button', { type: 'button', class: 'small', 'data-control': 'saved-delete' }, 'Delete');
        open.addEventListener('click', async () => {
          const saved = await loadRun(r.key);
          if (saved) await load(saved.text, `the run saved at ${new Date(saved.savedAt).toLocaleString()}`);
        });
        drop.addEventListener('click', async () => { await forgetRun(r.key).catch((err) => message(note, err.message)); refresh(); });
        item.append(el('span', {}, `${describe(r.key, mine)}: ${r.summary || 'a run'}, ${(r.examples || 0).toLocaleString('en-US')} examples, `
          + `saved ${new Date(r.savedAt).toLocaleString()} (${Math.round(r.size / 1024)} KiB) `), open, drop);
        return item;
      }) : [el('li', { class: 'note' }, 'none yet')]));
    } catch (err) {
      list.replaceChildren(el('li', { class: 'note' }, `This browser keeps no runs here: ${err.message}.`));
    }
  }
  return {
    onNet() { refresh(); },
    frame(now) { if (now - listed >= LIST_MS && document.visibilityState === 'visible') refresh(); },
  };
}
