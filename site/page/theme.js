// The page's theme: light or dark, as the URL says (theme=light|dark) or else as the system prefers,
// and its colours for what JS draws (canvases, uPlot): the CSS custom properties of style.css and
// dark.css, read from the page, so that a canvas always matches the CSS around it.
const root = document.documentElement;
const systemDark = matchMedia('(prefers-color-scheme: dark)');
const darkSheet = document.querySelector('link[data-role="dark-theme"]');
const listeners = [];
let colours = new Map();

/** What draws with the theme's colours compares this with the version it drew with. */
export const palette = { version: 0 };

/** theme: 'light' or 'dark' forces one; null follows the system. The dark colours are dark.css,
 * linked for a system that prefers dark (index.html): forcing a theme changes when it applies. */
export function applyTheme(theme) {
  if (theme) root.dataset.theme = theme; else delete root.dataset.theme;
  darkSheet.media = theme === 'dark' ? 'all' : theme === 'light' ? 'not all' : '(prefers-color-scheme: dark)';
  changed();
}

function changed() {
  colours = new Map();
  palette.version += 1;
  for (const fn of listeners) fn();
}
systemDark.addEventListener('change', () => { if (!root.dataset.theme) changed(); });
// A sheet that did not apply as the page started loads at a low priority, maybe after something was
// drawn: that is drawn again.
if (!darkSheet.sheet) darkSheet.addEventListener('load', changed, { once: true });

/** A colour of the theme by its custom property's name without the dashes: 'fg', 'series-1'... */
export function colour(name) {
  if (!colours.has(name)) colours.set(name, getComputedStyle(root).getPropertyValue(`--${name}`).trim());
  return colours.get(name);
}

/** True when the dark colours apply. */
export function isDark() {
  if (!colours.has('scheme')) colours.set('scheme', getComputedStyle(root).colorScheme);
  return colours.get('scheme') === 'dark';
}

/** fn() after every change of theme (the system's, or applyTheme). */
export function onThemeChange(fn) {
  listeners.push(fn);
}
