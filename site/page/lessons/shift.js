// Lesson: shift a digit by a pixel or two. To an MLP, which has one weight per pixel, the moved digit
// is a different input (count the pixels that change); a CNN's filters slide with it. The class
// probabilities of an MLP and a CNN, both trained (the build's pretrained runs, and the live net),
// for the original and the moved digits side by side.
import { GRAY } from '../views/colormap.js';
import { el } from '../views/viewstate.js';
import { message } from '../panels/message.js';
import { num, numberInput, para } from './util.js';

export const id = 'shift';
export const title = 'Shift a digit: MLP against CNN';
export const question = 'If a digit moves two pixels left, how many inputs change, and which network still knows it?';

const FIXED = [0, 1, 2];         // the seed's shifts; a fourth column is the reader's
const NAMES = { convnetjs: 'CNN', mlp: 'MLP' };
const REFRESH_MS = 4000;         // while training, the live network's answers again this often

function digit(pixels) {
  const c = el('canvas', { width: 28, height: 28, class: 'lesson-digit' });
  const g = c.getContext('2d'), img = g.createImageData(28, 28), u32 = new Uint32Array(img.data.buffer);
  pixels.forEach((v, i) => { u32[i] = GRAY[v]; });
  g.putImageData(img, 0, 0);
  return c;
}

function argmax(p) { let k = 0; for (let i = 1; i < p.length; i++) if (p[i] > p[k]) k = i; return k; }

export function mount(root, ctx) {
  root.append(para('An MLP gives every input pixel its own weights. Move a digit one pixel to the left and, pixel for pixel, it is ',
    'a different input', ': the count below says how many of the 784 values change. A CNN slides the same small filters over '
    + 'every position, so a moved stroke still meets the filter that detects it, one place over; pooling then forgives a '
    + 'move of a pixel or so.'),
  para('In the lecture\'s black-and-white example a move of 2 pixels changed 154 inputs, 77 from black to white and 77 back. '
    + 'Both kinds of network here learn from random 24×24 crops of the 28×28 images, so they have seen moves of up to '
    + '2 pixels while training. Try larger moves with the last column, and measure: ', 'the MLP gives up first', '.'));
  const controls = el('div', { class: 'lesson-row' });
  const image = numberInput('test image #', { min: 0, max: 9999, value: 0, name: 'lesson-shift-image' }, () => ask());
  const further = numberInput('and a shift of', { min: 3, max: 12, value: 5, name: 'lesson-shift-further' }, () => ask());
  controls.append(image.box, further.box);
  const note = el('p', { class: 'message', 'data-message': 'lesson' });
  const table = el('table', { class: 'lesson-table', 'data-role': 'shift-table' });
  const which = el('p', { class: 'note', 'data-stat': 'shift-nets' });
  const scroll = el('div', { class: 'lesson-scroll' });
  scroll.append(table);
  const measure = el('button', { type: 'button', 'data-control': 'lesson-shift-measure' }, 'Measure the accuracy on 500 test images, moved 0 to 8 pixels');
  const measured = el('div', { class: 'lesson-scroll', 'data-role': 'shift-accuracy' });
  root.append(controls, note, scroll, which, measure, measured);
  measure.addEventListener('click', async () => {
    measure.disabled = true;
    measured.textContent = 'measuring…';
    try { measured.replaceChildren(accuracyTable(await ctx.request('shift_accuracy', { count: 500, shifts: [0, 1, 2, 3, 4, 5, 6, 7, 8] }))); }
    catch (err) { measured.textContent = err.message; }
    measure.disabled = false;
  });
  let net = null, asking = false, again = false, live = '', lastAsk = -Infinity;

  async function ask() {
    if (!net) return;
    if (asking) { again = true; return; }
    asking = true; lastAsk = performance.now();
    try {
      draw(await ctx.request('shift', { index: image.value, shifts: [...FIXED, further.value] }));
      message(note, '');
    } catch (err) { message(note, err.message); }
    asking = false;
    if (again) { again = false; ask(); }
  }

  function draw(r) {
    const classes = ctx.classes(), label = r.label;
    const head = el('tr');
    head.append(el('th', {}, `test image #${r.index} (class ${classes[label]})`));
    for (const row of r.rows) head.append(el('th', {}, row.dx ? `moved ${row.dx} pixel${row.dx > 1 ? 's' : ''} left` : 'original'));
    const pics = el('tr'), counts = el('tr');
    pics.append(el('th', {}, 'input'));
    counts.append(el('th', {}, 'pixels that change'));
    for (const row of r.rows) {
      const td = el('td');
      td.append(digit(row.image));
      pics.append(td);
      counts.append(el('td', { 'data-result': `shift-${row.dx}`, 'data-changed': row.changed, 'data-brighter': row.brighter, 'data-darker': row.darker },
        row.dx ? `${num(row.changed)} of 784 (${num(row.brighter)} brighter, ${num(row.darker)} darker)` : '—'));
    }
    const rows = [head, pics, counts];
    const described = [];
    for (const name of r.nets) {
      const ref = r.references[name];
      const tr = el('tr', { 'data-net': name });
      const who = name === 'live' ? `this page's network (${live})` : `pretrained ${NAMES[ref.spec_preset] || ref.spec_preset}`;
      tr.append(el('th', {}, who));
      for (const row of r.rows) {
        const p = row.probs[name], top = argmax(p);
        const td = el('td', { 'data-dx': row.dx, 'data-probs': JSON.stringify(Array.from(p)) });
        const bar = el('span', { class: 'lesson-bar' });
        bar.style.width = `${Math.round(60 * p[label])}px`;
        td.append(el('span', { class: top === label ? 'good' : 'bad' }, `${top === label ? '✓' : '✗'} says ${classes[top]} (${(100 * p[top]).toFixed(1)}%)`), el('br'),
          bar, ` ${classes[label]}: ${(100 * p[label]).toFixed(1)}%`);
        tr.append(td);
      }
      rows.push(tr);
      if (ref) described.push(`the pretrained ${NAMES[ref.spec_preset] || ref.spec_preset} is the ${ref.spec_preset} preset, trained by the build on ${num(ref.examples)} examples (${(100 * ref.test_accuracy).toFixed(2)}% on the test set)`);
    }
    table.replaceChildren(...rows);
    which.textContent = `Which networks: ${[`this page's network is the one training now (${live})`, ...described].join('; ')}.`
      + (Object.keys(r.references).length ? '' : ' This build has no pretrained networks for this dataset, so only the live one is shown.');
  }

  function accuracyTable(r) {
    const t = el('table', { class: 'lesson-table' });
    t.append(el('caption', {}, `accuracy on the first ${num(r.count)} test images, moved left by`));
    const head = el('tr');
    head.append(el('th', {}, ''));
    for (const dx of r.shifts) head.append(el('th', {}, `${dx} px`));
    t.append(head);
    for (const [name, accs] of Object.entries(r.accuracy)) {
      const tr = el('tr', { 'data-net': name, 'data-accuracy': JSON.stringify(accs) });
      tr.append(el('th', {}, name === 'live' ? "this page's network" : `pretrained ${NAMES[name] || name}`));
      for (const a of accs) tr.append(el('td', {}, `${(100 * a).toFixed(1)}%`));
      t.append(tr);
    }
    return t;
  }

  return {
    onNet(n) {
      net = n;
      const convs = n.layers.filter((L) => L.type === 'conv').length;
      live = convs ? `a CNN with ${convs} conv layer${convs > 1 ? 's' : ''}` : 'an MLP';
      ask();
    },
    onStats(s) {
      if (!table.children.length && s.test_loaded > image.value) ask();
      live = live.replace(/, \d[\d,]* examples$/, '') + `, ${num(s.examples)} examples`;
    },
    frame(now, state) { if (state === 'training' && now - lastAsk >= REFRESH_MS) ask(); },
  };
}
