// Saving and loading a whole run (spec, weights, trainer state, statistics and charts).
import { message } from './message.js';

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
  return {};
}
