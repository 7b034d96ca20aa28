/* A reveal.js plugin that tells every Live CNN embed of a deck whether its slide is the one shown,
 * so that an embed trains only then, whatever origin serves the deck. Without it an embed served
 * from another origin cannot see its slide (reveal.js only tells the iframes of the slide it shows
 * and of the one it leaves; a preloaded slide never shown tells nothing, and slides drawn on top of
 * each other all look on screen).
 *
 *   <script src="reveal.js"></script>
 *   <script src="SITE/deck/reveal-live-cnn.js"></script>
 *   <script>Reveal.initialize({ plugins: [RevealLiveCnn] });</script>
 *
 * It posts {liveCnn: 'slide', shown: true|false} (an object: reveal.js ignores objects, and acts on
 * strings) to every iframe of the deck: when the deck is ready, when the slide, a fragment, the
 * overview or the pause changes, when an iframe loads, and when an embed says {liveCnn: 'hello'}.
 * It reads nothing from the embeds. The speaker view's copies of the deck tell every iframe "not
 * shown". A classic script, so that it loads from any origin and from disk alike. */
(function (root) {
  'use strict';
  var EVENTS = ['ready', 'slidechanged', 'fragmentshown', 'fragmenthidden', 'overviewshown',
    'overviewhidden', 'paused', 'resumed', 'sync', 'slidesync'];

  function RevealLiveCnn() {
    return {
      id: 'live-cnn',
      init: function (deck) {
        var element = deck.getRevealElement();

        function frames() { return Array.prototype.slice.call(element.querySelectorAll('iframe')); }

        // Is this iframe on the slide the audience sees now (its fragment revealed, if it is in one)?
        function shown(frame) {
          if (deck.isSpeakerNotes() || deck.isOverview() || deck.isPaused()) return false;
          var current = deck.getCurrentSlide();
          if (!current) return false;
          var background = frame.closest('.slide-background');
          if (background) return background === deck.getSlideBackground(current);
          var slide = frame.closest('section');
          if (!slide || !(slide === current || slide.contains(current))) return false;
          var fragment = frame.closest('.fragment');
          return !fragment || fragment.classList.contains('visible');
        }

        function tell(frame) {
          if (frame.contentWindow) frame.contentWindow.postMessage({ liveCnn: 'slide', shown: shown(frame) }, '*');
        }
        function tellAll() { frames().forEach(tell); }

        EVENTS.forEach(function (name) { deck.on(name, tellAll); });
        // load does not bubble; caught on the way down, it names each iframe as it (re)loads.
        element.addEventListener('load', function (e) { if (e.target.tagName === 'IFRAME') tell(e.target); }, true);
        window.addEventListener('message', function (e) {
          if (!e.data || typeof e.data !== 'object' || e.data.liveCnn !== 'hello') return;
          frames().forEach(function (frame) { if (frame.contentWindow === e.source) tell(frame); });
        });
        if (deck.isReady()) tellAll();
      },
    };
  }

  root.RevealLiveCnn = RevealLiveCnn;
  if (typeof module === 'object' && module.exports) module.exports = RevealLiveCnn;
}(typeof self !== 'undefined' ? self : this));
