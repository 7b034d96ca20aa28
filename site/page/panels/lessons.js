// The lessons: an index, and the open lesson (?lesson=ID). Each lesson is a module in lessons/
// exporting {id, title, question, mount(root, ctx)}; it answers one question students ask, with
// numbers pycore computes from the network being trained.
import * as activations from '../lessons/activations.js';
import * as compare from '../lessons/compare.js';
import * as depth from '../lessons/depth.js';
import * as flatten from '../lessons/flatten.js';
import * as outputSize from '../lessons/output-size.js';
import * as parameters from '../lessons/parameters.js';
import * as pooling from '../lessons/pooling.js';
import * as shift from '../lessons/shift.js';
import * as sparseMatrix from '../lessons/sparse-matrix.js';
import * as topImages from '../lessons/top-images.js';
import * as unitMath from '../lessons/unit-math.js';
import { el, scrollSteady } from '../views/viewstate.js';
import { onThemeChange } from '../theme.js';

export const LESSONS = [outputSize, parameters, pooling, depth, flatten, sparseMatrix, compare, shift, topImages, activations, unitMath];

export function mount(root, ctx) {
  const index = root.querySelector('[data-role="lesson-index"]');
  const body = root.querySelector('[data-role="lesson"]');
  let open = null, hooks = {}, last = [];     // last: the latest onNet arguments, for a lesson opened later
  for (const L of LESSONS) {
    const item = el('li');
    const link = el('button', { type: 'button', class: 'link', 'data-control': 'lesson', 'data-id': L.id }, L.title);
    link.addEventListener('click', () => show(L.id));
    item.append(link, el('span', { class: 'note' }, ` ${L.question}`));
    index.append(item);
  }
  function show(id) {
    const L = LESSONS.find((x) => x.id === id);
    if (!L) {
      ctx.note('lesson', id, `there is no such lesson; the lessons are ${LESSONS.map((x) => x.id).join(', ')}`);
      ctx.setUrl({ lesson: null });
      return;
    }
    open = L;
    const box = el('article', { class: 'lesson', 'data-lesson': id });
    box.append(el('h3', {}, L.title));
    body.replaceChildren(box);
    for (const button of index.querySelectorAll('[data-control="lesson"]')) button.classList.toggle('current', button.dataset.id === id);
    if (ctx.url.embed) root.querySelector('[data-role="lesson-list"]').open = false;   // a slide shows the lesson
    hooks = L.mount(box, ctx) || {};
    if (last.length && hooks.onNet) hooks.onNet(...last);
    ctx.setUrl({ lesson: id });
  }
  if (ctx.url.lesson) show(ctx.url.lesson);
  // A link to a lesson opens the page at it, once the network has arrived (its boxes come first on
  // the page), unless the visitor has scrolled meanwhile.
  let toLesson = Boolean(ctx.url.lesson && open && !ctx.url.embed);
  // A unit clicked in the network view opens the unit-math lesson on it.
  document.addEventListener('unit-pick', (e) => {
    if (open !== unitMath) show(unitMath.id);
    if (hooks.onUnit) hooks.onUnit(e.detail);
  });
  const forward = (name) => (...args) => { if (hooks[name]) hooks[name](...args); };
  onThemeChange(forward('onTheme'));     // a lesson's drawings again, in the theme's colours
  return {
    onNet(...args) {
      last = args[3] ? args : [args[0], args[1], args[2], last[3]];
      forward('onNet')(...last);
      if (toLesson && scrollY === 0) requestAnimationFrame(() => scrollSteady(body));
      toLesson = false;
    },
    onStats: forward('onStats'),
    onSnapshot: forward('onSnapshot'),
    onFocus: forward('onFocus'),
    onRace: forward('onRace'),
    frame: forward('frame'),
  };
}
