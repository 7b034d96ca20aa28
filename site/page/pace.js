// How much drawing the main thread can afford: the time between animation frames, smoothed over
// about a second. On a fast machine frames come every ~17 ms and the views refresh at their full
// rate; on a slow phone the same work makes frames come every 50-200 ms, and the views refresh that
// many times less often (up to 8x), so that the page keeps answering taps instead of freezing.

const FRAME_MS = 1000 / 60;
const SMOOTH = 0.08;        // weight of each new frame in the average (~12 frames)
const MAX_SAMPLE_MS = 250;  // a frame after a pause (a hidden tab) counts as this long at most
const MAX_FACTOR = 8;

let avg = FRAME_MS, last = 0;

/** Call once per animation frame with its timestamp. */
export function tick(now) {
  if (last) avg += SMOOTH * (Math.min(MAX_SAMPLE_MS, now - last) - avg);
  last = now;
}

/** The loop stopped (nothing to draw): the next frame's gap says nothing about the device. */
export function rest() { last = 0; }

/** How many times longer than a frame at 60 Hz frames take now: 1 (at ease) to 8 (struggling).
 * Periodic refreshes multiply their period by it. */
export function slowness() { return Math.max(1, Math.min(MAX_FACTOR, avg / (1.5 * FRAME_MS))); }
