// Whether this page may train now, for a page in a frame (a slide, a notebook, another page):
// it must be seen (the tab is visible, the frame is on screen, the slide is current) and started
// (autoplay, a click, reveal.js's slide:start, or the deck's plugin saying its slide is shown). Also
// the frame's keys: space pauses or resumes, s steps, r resets, and the deck's own keys go back to
// the deck.
//
// Seeing is exact in a deck on this origin (the slide's class is read) and in a deck with the
// plugin (deck/reveal-live-cnn.js). A page of another origin without it cannot be looked into: a
// preloaded slide that was never shown gets no message, and slides drawn on top of each other all
// intersect the screen. So there an embed whose URL does not say autoplay=1 waits until reveal.js
// starts its slide, the plugin says it is shown, or the viewer presses Play or taps it.

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

/** Can this page read every page it is framed by (one origin all the way up)? */
function ancestorsReadable() {
  try {
    return Boolean(window.top.location.href);
  } catch (err) {
    return false;
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
 * autoplay: true, false, or null (unset: true, except in a frame of another origin, see above).
 * -> {start() (a click on Play counts as the viewer starting it), reason(), active()}. */
export function watchVisibility({ framed, autoplay, onChange }) {
  const speaker = framed && inSpeakerView();
  const blind = framed && !ancestorsReadable();
  let started = (autoplay === true || (autoplay === null && !blind)) && !speaker;
  let onScreen = true, slideShown = true, heardSlides = false;
  let last = null;

  function visible() { return document.visibilityState === 'visible' && onScreen && slideShown; }
  function reason() {
    if (document.visibilityState !== 'visible') return 'waiting: the page is hidden';
    if (speaker) return "waiting: a speaker view's copy";
    if (!slideShown) return 'waiting for its slide';
    if (!onScreen) return 'waiting: off screen';
    if (!started) return heardSlides ? 'waiting for its slide' : (blind ? 'press Play to train (or show its slide)' : 'press Play to train');
    return 'waiting for another embed';
  }
  let lastReason = null;
  function update(force = false) {
    const active = started && visible();
    const why = reason();
    if (active !== last || why !== lastReason || force) { last = active; lastReason = why; onChange(active, why); }
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
  // reveal.js posts these strings to the iframes of the slide it shows and of the one it leaves;
  // the plugin posts {liveCnn: 'slide', shown} to every iframe of the deck. Its word is exact.
  let plugin = false;
  const slideIs = (shown) => {
    heardSlides = true;
    slideShown = shown;
    if (shown) started = !speaker;
    update();
  };
  window.addEventListener('message', (e) => {
    if (e.source !== window.parent) return;
    const d = e.data;
    if (d && typeof d === 'object' && d.liveCnn === 'slide') { plugin = true; slideIs(d.shown === true); return; }
    if (plugin || typeof d !== 'string') return;
    if (d === 'slide:start') slideIs(true);
    if (d === 'slide:stop') slideIs(false);
  });
  // A viewer who taps or clicks the frame sees it.
  if (blind) document.addEventListener('pointerdown', () => { if (!started && !speaker && !plugin) { started = true; update(); } });
  if (framed) window.parent.postMessage({ liveCnn: 'hello' }, '*');   // a deck's plugin answers
  // In a reveal.js deck on this origin the slide itself can be watched: reveal posts slide:start
  // to a preloaded frame whose slide is shown while the frame is still loading, and that message
  // is lost. (A deck on another origin sends the next one when its slide is shown again.)
  const slide = slideOf();
  if (slide) {
    started = false;            // a deck's embed starts with its slide, whatever autoplay says
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
