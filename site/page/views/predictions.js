// Test-set views: prediction cards, the confusion matrix and image galleries. Clicking an image
// calls onPick(index) so the network view can show that test image.
import { drawDigit } from './drawpad.js';

function el(tag, attrs = {}, text = '') {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== '') node.textContent = text;
  return node;
}

// A test image that shows itself in the network view when clicked, or chosen by keyboard.
function digit(image, index, onPick, title) {
  const c = el('canvas', { width: 28, height: 28, class: 'digit', 'data-index': index, title,
                           tabindex: 0, role: 'button', 'aria-label': `${title}: show it in the network view` });
  drawDigit(c, image);
  c.addEventListener('click', () => onPick(index));
  c.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); onPick(index); }
  });
  return c;
}

/** Cards: the image and the top-3 classes as bars, the true class's marked ✓ (and solid green, the
 * others hatched red: style.css). Cards are replaced in place, so their number stays bounded by the
 * number asked for. */
export function renderCards(container, cards, classes, onPick) {
  container.replaceChildren(...cards.map((card) => {
    const box = el('div', { class: 'card', 'data-index': card.index });
    box.append(digit(card.image, card.index, onPick, `test image #${card.index}, true class ${classes[card.label]}`));
    const bars = el('div', { class: 'bars' });
    for (const [cls, p] of card.top) {
      const right = cls === card.label;
      const row = el('div', { class: `bar ${right ? 'right' : 'wrong'}` });
      const name = el('span', { class: 'name' });
      if (right) name.append(el('span', { 'aria-hidden': 'true' }, '✓ '));
      name.append(classes[cls]);
      if (right) name.append(el('span', { class: 'visually-hidden' }, ' (true class)'));
      row.append(name, fill(p),
        el('span', { class: 'value' }, `${(100 * p).toFixed(0)}%`));
      bars.append(row);
    }
    box.append(bars);
    return box;
  }));
}

// A bar's filled part. Its width is set through the CSSOM: the page's Content-Security-Policy
// refuses style attributes.
function fill(p) {
  const span = el('span', { class: 'fill' });
  span.style.width = `${(100 * p).toFixed(1)}%`;
  return span;
}

/** Probability bars for every class (the live prediction for the user's own image). */
export function renderBars(container, probs, classes) {
  const best = probs.indexOf(Math.max(...probs));
  container.replaceChildren(...classes.map((name, i) => {
    const row = el('div', { class: `bar ${i === best ? 'best' : ''}` });
    row.append(el('span', { class: 'name' }, name), fill(probs[i]),
      el('span', { class: 'value' }, `${(100 * probs[i]).toFixed(1)}%`));
    return row;
  }));
}

/** The confusion matrix (rows: true class, columns: predicted) with per-class accuracy. */
export function renderConfusion(table, result, onCell) {
  const { matrix, per_class: perClass, classes } = result;
  const max = Math.max(1, ...matrix.flatMap((row, i) => row.filter((_, j) => j !== i)));
  const head = el('tr');
  head.append(el('th', { class: 'corner' }, 'true ↓ / predicted →'), ...classes.map((c) => el('th', { scope: 'col' }, c)),
    el('th', { scope: 'col' }, 'accuracy'));
  const rows = matrix.map((row, i) => {
    const tr = el('tr');
    tr.append(el('th', { scope: 'row' }, classes[i]));
    row.forEach((n, j) => {
      const td = el('td', { 'data-true': i, 'data-pred': j, class: i === j ? 'diag' : 'off' }, n ? '' : '0');
      // The theme's red (--heat, style.css) up to 0.68 opaque: the figures keep 4.5:1 on the darkest
      // cell in either theme (4.85 light, 4.69 dark). The count is written in the cell as well.
      if (i !== j && n) td.style.setProperty('--heat-alpha', (0.12 + 0.56 * n / max).toFixed(2));
      if (n) {   // a button, so that a keyboard lists the cell's images too
        const b = el('button', { type: 'button', class: 'cell', 'data-control': 'confusion-cell',
                                 'aria-label': `${n} images of ${classes[i]} predicted as ${classes[j]}: list them` }, String(n));
        b.addEventListener('click', () => onCell(i, j));
        td.append(b);
        td.classList.add('pick');
      }
      tr.append(td);
    });
    tr.append(el('td', { class: 'acc' }, perClass[i] === null || perClass[i] === undefined ? '—' : `${(100 * perClass[i]).toFixed(1)}%`));
    return tr;
  });
  table.replaceChildren(el('caption', {}, `${result.count.toLocaleString('en-US')} test images, accuracy `
    + `${(100 * result.accuracy).toFixed(2)}% after ${result.examples.toLocaleString('en-US')} training examples`), head, ...rows);
}

/** A row of images with their label and prediction. */
export function renderGallery(container, images, classes, onPick, caption = '') {
  const items = images.map((im) => {
    const fig = el('figure', { class: im.label === im.pred ? 'right' : 'wrong' });
    fig.append(digit(im.image, im.index, onPick, `test image #${im.index}`),
      el('figcaption', {}, `${classes[im.label]}→${classes[im.pred]} ${(100 * im.confidence).toFixed(0)}%`));
    return fig;
  });
  container.replaceChildren(...(caption ? [el('p', { class: 'note' }, caption)] : []), ...items);
}
