// The example deck (deck.html): starts reveal.js, whose vendored UMD build deck.html loads first,
// with this site's plugin (reveal-live-cnn.js, also loaded first), which tells each embed whether its
// slide is the one shown.
import { keepOffline } from '../page/offline.js';

const { Reveal, RevealLiveCnn } = globalThis;
const slideCount = document.querySelectorAll('.reveal .slides section').length;

Reveal.initialize({
  // reveal's defaults, written out because the embeds are sized for them: each fills (r-stretch)
  // what its slide's heading leaves of the 700.
  width: 960,
  height: 700,
  hash: true,
  // An embed loads when its slide comes within viewDistance slides of the current one, and is
  // unloaded (its src removed) beyond it; without preloadIframes, whenever its slide is left. A
  // distance of the whole deck keeps every embed loaded once it is, so a revisit reloads nothing.
  preloadIframes: true,
  viewDistance: slideCount,
  mobileViewDistance: slideCount,
  plugins: [RevealLiveCnn],
});

// The last slide tells where this site is, for embeds in a deck served from elsewhere.
const address = document.getElementById('site-address');
if (address) address.textContent = new URL('.', document.baseURI).href;

keepOffline(new URL(import.meta.url).searchParams.get('v'));
