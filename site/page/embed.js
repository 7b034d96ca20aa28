// Whether this page may train now, for a page in a frame (a slide, a notebook, another page):
// it must be seen (the tab is visible, the frame is on screen, the slide is current) and started
// (autoplay, a click, or reveal.js's slide:start). Also the frame's keys: space pauses or resumes,
// s steps, r resets, and the deck's own keys go back to the deck.

/** Is this page one of the copies reveal.js's speaker view loads (?receiver), which are never shown
 * as the audience's slide? Only same-origin ancestors can be checked. */
function inSpeakerView() {
  try {
    for (let w = window.parent; w && w !== w.parent; w = w.parent) {
      if (new URLSearchParams(w.location.search).has('receiver')) return true;
    }
    return window.top !== window && new URLSearchParams(window.top.location.search).has('receiver');
  } catch (err) {
    return false;     // a cross-origin ancestor: nothing to learn
  }
}

/** The reveal.js slide (a <section>) holding this frame, when the deck is on this origin; else null. */
function slideOf() {
  try {
    const frame = window.frameElement;
    return frame && frame.closest('.reveal .slides section');
  } catch (err) {
    return null;
  }
}

/** Follow visibility; onChange(active, reason) runs whenever training should start or stop.
 * -> {start() (a click on Play counts as the viewer starting it), reason(), active()}. */
export function watchVisibility({ framed, autoplay, onChange }) {
  const speaker = framed && inSpeakerView();
  let started = autoplay && !speaker;
  let onScreen = true, slideShown = true, heardSlides = false;
  let last = null;

  function visible() { return document.visibilityState === 'visible' && onScreen && slideShown; }
  function reason() {
    if (document.visibilityState !== 'visible') return 'waiting: the page is hidden';
    if (!slideShown) return 'waiting for its slide';
    if (!onScreen) return 'waiting: off screen';
    if (speaker) return "waiting: a speaker view's copy";
    if (!started) return heardSlides ? 'waiting for its slide' : 'press Play to train';
    return 'waiting for another embed';
  }
  function update(force = false) {
    const active = started && visible();
    if (active !== last || force) { last = active; onChange(active, reason()); }
  }

  document.addEventListener('visibilitychange', () => update());
  if (framed && 'IntersectionObserver' in window) {
    // Against the top page's viewport, through every ancestor frame: a preloaded slide off
    // screen still says "visible" to the Page Visibility API.
    new IntersectionObserver((entries) => {
      const e = entries[entries.length - 1];
      onScreen = e.isIntersecting && e.intersectionRatio > 0;
      update();
    }, { threshold: [0, 0.01] }).observe(document.body);
  }
  // reveal.js posts these strings to the iframes of the slide it shows and of the one it leaves.
  window.addEventListener('message', (e) => {
    if (e.source !== window.parent || typeof e.data !== 'string') return;
    if (e.data === 'slide:start') { heardSlides = true; slideShown = true; started = !speaker; update(); }
    if (e.data === 'slide:stop') { heardSlides = true; slideShown = false; update(); }
  });
  // In a reveal.js deck on this origin the slide itself can be watched: reveal posts slide:start
  // to a preloaded frame whose slide is shown while the frame is still loading, and that message
  // is lost. (A deck on another origin sends the next one when its slide is shown again.)
  const slide = slideOf();
  if (slide) {
    const follow = () => {
      const shown = slide.classList.contains('present');
      heardSlides = true;
      if (shown) started = !speaker;
      slideShown = shown;
      update();
    };
    new MutationObserver(follow).observe(slide, { attributes: true, attributeFilter: ['class'] });
    follow();
  }
  update(true);
  return {
    start() { started = true; slideShown = true; update(); },
    reason,
    active: () => last,
    visible,
  };
}

/** Keys while the frame has focus: space, s and r drive the run; Esc and the deck's navigation keys
 * hand the keyboard back to the deck (and, for a deck on this origin, the key too). */
export function frameKeys({ pause, step, reset }) {
  const DECK_KEYS = new Set(['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'PageUp', 'PageDown', 'Escape', 'Home', 'End']);
  document.addEventListener('keydown', (e) => {
    const t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) {
      if (e.key === 'Escape') t.blur();
      return;
    }
    if (e.key === ' ' && !(t && t.tagName === 'BUTTON')) { e.preventDefault(); pause(); return; }
    if (e.key === 's') { step(); return; }
    if (e.key === 'r') { reset(); return; }
    if (!DECK_KEYS.has(e.key) || window.parent === window) return;
    try {
      const doc = window.parent.document;       // same origin: the deck gets this very key
      doc.dispatchEvent(new KeyboardEvent('keydown', { key: e.key, code: e.code, keyCode: e.keyCode, which: e.which, bubbles: true }));
    } catch (err) { /* another origin: it gets the next one */ }
    window.parent.focus();
  });
}
