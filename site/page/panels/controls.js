// The trainer panel: method and hyper-parameters (applied live), the dataset, and the workers.
import { defaultWorkers, MAX_WORKERS, smallDevice } from '../state.js';
import { message } from './message.js';

export function mount(root, ctx) {
  const form = root.querySelector('form');
  // On a phone the settings start folded, so that the statistics and charts are near the top.
  if (window.matchMedia('(max-width: 520px)').matches) root.querySelector('[data-role="trainer-settings"]').open = false;
  const note = root.querySelector('[data-message="options"]');
  const dataset = root.querySelector('[data-control="dataset"]');
  let options = {}, trainers = {};
  const trainer = root.querySelector('[data-control="trainer"]');
  const CUSTOM = 'custom';
  // The named trainer whose every option the run has, or 'custom'.
  const named = (o) => Object.keys(trainers).find((k) => Object.entries(trainers[k].options).every(([key, v]) => o[key] === v)) || CUSTOM;

  const rateNow = root.querySelector('[data-role="rate-now"]');
  // Fields typed into and not yet applied, or applied and not yet answered: no reply (to another
  // field's change, a trainer, a new network) overwrites them. field -> the edit being held.
  const held = new Map();
  form.addEventListener('input', (e) => { if (e.target !== trainer) held.set(e.target, {}); });
  function showOptions(o) {
    options = o;
    for (const input of form.elements) if (input.name in o && !held.has(input)) input.value = o[input.name];
    trainer.value = named(o);
    // a schedule's own settings show with it (data-for lists the schedules that use them)
    for (const label of form.querySelectorAll('[data-for]')) label.hidden = !label.dataset.for.split(' ').includes(o.schedule);
  }

  // A named trainer sets every option; the URL then names it instead of listing them.
  async function chooseTrainer(name) {
    try {
      showOptions(await ctx.request('options', { options: trainers[name].options }));
      ctx.setUrl({ trainer: name === defaultTrainer ? null : name,
                   ...Object.fromEntries(Object.keys(trainers[name].options).map((k) => [k, null])) });
      message(note, `${trainers[name].title}; training goes on.`, false);
    } catch (err) {
      message(note, err.message);
      showOptions(options);
    }
  }
  let defaultTrainer = null;
  form.addEventListener('change', async (e) => {
    const input = e.target;
    if (input === trainer) { if (input.value in trainers) chooseTrainer(input.value); return; }
    const text = input.name === 'method' || input.name === 'schedule';
    const value = text ? input.value : Number(input.value);
    const edit = held.get(input) || {};
    held.set(input, edit);
    // The answer shows in the field unless the user has typed into it again meanwhile.
    const release = () => { if (held.get(input) === edit) held.delete(input); };
    if (input.value === '' || (!text && !Number.isFinite(value))) {
      message(note, `${input.name.replace('_', ' ')} must be a number`);
      release();
      showOptions(options);
      return;
    }
    try {
      const answer = await ctx.request('options', { options: { [input.name]: value } });
      release();
      showOptions(answer);
      ctx.setUrl({ [input.name]: value });
      message(note, `${input.name.replace('_', ' ')} set to ${value}; training goes on.`, false);
    } catch (err) {
      release();
      message(note, err.message);
      showOptions(options);
    }
  });
  form.addEventListener('submit', (e) => e.preventDefault());
  dataset.addEventListener('change', async () => {
    const net = await ctx.changeNetwork('dataset', { name: dataset.value }, note);
    if (net) ctx.setUrl({ dataset: dataset.value });
  });

  // Workers (data-parallel): 1 up to the cores this browser reports (at least 4, at most the URL
  // key's limit), the default for this machine marked; applied from the next batch on.
  const workers = root.querySelector('[data-control="workers"]');
  const cores = navigator.hardwareConcurrency || 1, auto = defaultWorkers(cores);
  const most = Math.min(MAX_WORKERS, Math.max(4, cores, ctx.url.workers || 1));
  workers.replaceChildren(...Array.from({ length: most }, (_, i) => new Option(i + 1 === auto ? `${i + 1} (default here)` : String(i + 1), i + 1)));
  workers.value = ctx.url.workers || auto;
  root.querySelector('[data-role="workers-note"]').textContent = `this browser reports ${cores} core${cores === 1 ? '' : 's'}`
    + (smallDevice() && cores > 3 ? '; a phone, a tablet or a small memory: 1 by default, as each worker is a whole Pyodide' : '');
  workers.addEventListener('change', async () => {
    const n = Number(workers.value);
    try {
      await ctx.request('workers', { count: n });
      ctx.setUrl({ workers: n === auto ? null : n });
      message(note, `${n} worker${n === 1 ? '' : 's'} from the next batch on; training goes on.`, false);
    } catch (err) {
      message(note, err.message);
    }
  });

  return {
    onStats(s) {
      if (document.activeElement !== workers && s.workers && workers.value !== String(s.workers)) workers.value = s.workers;
      const rate = s.rate == null ? 'set by adadelta itself' : Number(s.rate.toPrecision(4)).toString();   // None arrives as undefined
      if (rateNow.textContent !== rate) rateNow.textContent = rate; },
    onNet(net, charts, datasets, presets, menu) {
      if (menu) {
        ({ trainers, default: defaultTrainer } = menu);
        trainer.replaceChildren(...Object.entries(trainers).map(([k, t]) => new Option(t.title, k)),
          Object.assign(new Option('Custom (the settings below)', CUSTOM), { disabled: true }));
      }
      showOptions(net.options);
      if (datasets) {
        dataset.replaceChildren(...Object.entries(datasets).map(([k, title]) => new Option(title, k)));
        root.querySelector('[data-role="dataset-row"]').hidden = Object.keys(datasets).length < 2;
      }
      dataset.value = net.dataset;
    },
  };
}
