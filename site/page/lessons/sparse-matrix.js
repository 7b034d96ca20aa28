// Lesson: a convolution is a multiplication by a very sparse matrix. A 3x3 kernel on a 4x4 input
// written as the 4x16 matrix whose rows hold the kernel at each output position; the product with
// the flattened input equals sliding the kernel. Then the density of conv1's own matrix.
import { el } from '../views/viewstate.js';
import { num, para } from './util.js';

export const id = 'sparse-matrix';
export const title = 'A convolution is a sparse matrix';
export const question = 'Why is a convolution called a very sparse matrix multiplication?';

const N = 4, F = 3, M = N - F + 1;           // 4x4 input, 3x3 kernel, 2x2 output (stride 1, no padding)

/** The (M*M) x (N*N) matrix of a valid, stride-1 correlation with kernel k (F x F, row-major). */
export function convMatrix(k) {
  const rows = [];
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < M; j++) {
      const row = new Array(N * N).fill(0);
      for (let a = 0; a < F; a++) for (let b = 0; b < F; b++) row[(i + a) * N + (j + b)] = k[a * F + b];
      rows.push(row);
    }
  }
  return rows;
}

/** Sliding the kernel: out[i][j] = sum over a, b of k[a][b] * x[i + a][j + b]. */
function slide(k, x) {
  const out = [];
  for (let i = 0; i < M; i++) for (let j = 0; j < M; j++) {
    let s = 0;
    for (let a = 0; a < F; a++) for (let b = 0; b < F; b++) s += k[a * F + b] * x[(i + a) * N + (j + b)];
    out.push(s);
  }
  return out;
}

/** Non-zeros of a conv layer's matrix: for each output position, the filter taps that land on the
 * input rather than on padding, times C_in channels and the number of filters. -> {nnz, rows, cols}. */
export function layerDensity([C, H, W], [K, OH, OW], { sx, sy = sx, stride, pad }) {
  const taps = (n, out, f) => {   // sum over output positions of the taps inside the input, along one axis
    let t = 0;
    for (let o = 0; o < out; o++) for (let a = 0; a < f; a++) { const p = o * stride - pad + a; if (p >= 0 && p < n) t++; }
    return t;
  };
  return { nnz: K * C * taps(H, OH, sy) * taps(W, OW, sx), rows: K * OH * OW, cols: C * H * W };
}

function grid(values, cols, attrs = {}, editable = false, onChange = null) {
  const table = el('table', { class: 'lesson-table lesson-matrix', ...attrs });
  for (let r = 0; r < values.length / cols; r++) {
    const tr = el('tr');
    for (let c = 0; c < cols; c++) {
      const v = values[r * cols + c];
      const td = el('td', { class: v === 0 ? 'zero' : '' });
      if (editable) {
        const input = el('input', { type: 'number', value: v, step: 1, 'data-index': r * cols + c,
                                    'aria-label': `kernel value, row ${r + 1}, column ${c + 1}` });
        input.addEventListener('input', () => { if (Number.isFinite(Number(input.value))) onChange(r * cols + c, Number(input.value)); });
        td.append(input);
      } else td.textContent = String(v);
      tr.append(td);
    }
    table.append(tr);
  }
  return table;
}

export function mount(root, ctx) {
  const kernel = [1, 0, -1, 2, 0, -2, 1, 0, -1];               // a vertical-edge (Sobel) kernel
  const input = [0, 1, 2, 3, 1, 3, 5, 2, 0, 2, 6, 1, 1, 0, 2, 4];
  root.append(para('Sliding a 3×3 kernel over a 4×4 input gives 2×2 outputs, each a weighted sum of 9 of the 16 '
    + 'inputs. Flatten the input into a vector of 16, and each output is the dot product of that vector with a '
    + 'row holding the kernel\'s 9 values where it sits and ', 'zeros everywhere else', '. Stack the 4 rows: the '
    + 'convolution is one matrix product, with the same 9 numbers repeated in every row.'));
  const inputs = el('div', { class: 'lesson-row' });
  const matrixBox = el('div', { class: 'lesson-scroll' });
  const results = el('div', { class: 'lesson-row' });
  const counts = el('p', { class: 'note', 'data-stat': 'nonzeros' });
  const density = el('p', { 'data-stat': 'conv1-density' });
  root.append(inputs, el('h4', {}, 'The 4×16 matrix'), matrixBox, results, counts,
    el('h4', {}, 'On the network being trained'), density);

  function update() {
    const A = convMatrix(kernel);
    const product = A.map((row) => row.reduce((s, v, c) => s + v * input[c], 0));
    matrixBox.replaceChildren(grid(A.flat(), N * N, { 'data-role': 'matrix' }));
    const left = el('div'), right = el('div');
    left.append(el('p', { class: 'note' }, 'matrix × flattened input'), grid(product, M, { 'data-result': 'product' }));
    right.append(el('p', { class: 'note' }, 'sliding the kernel'), grid(slide(kernel, input), M, { 'data-result': 'sliding' }));
    results.replaceChildren(left, right);
    const nnz = A.flat().filter((v) => v !== 0).length;
    counts.textContent = `${nnz} of the matrix's ${M * M * N * N} entries are not zero (${(100 * nnz / (M * M * N * N)).toFixed(0)}%); `
      + `a kernel without zeros would fill ${M * M * F * F} (${(100 * F * F / (N * N)).toFixed(0)}%).`;
  }
  const k = el('div'), x = el('div');
  k.append(el('p', { class: 'note' }, 'kernel (edit it)'), grid(kernel, F, { 'data-role': 'kernel' }, true, (i, v) => { kernel[i] = v; update(); }));
  x.append(el('p', { class: 'note' }, 'input (edit it)'), grid(input, N, { 'data-role': 'input' }, true, (i, v) => { input[i] = v; update(); }));
  inputs.append(k, x);
  update();

  return {
    onNet(net) {
      const i = net.layers.findIndex((L) => L.type === 'conv');
      if (i < 1) { density.textContent = 'This network has no conv layer.'; return; }
      const L = net.layers[i];
      const { nnz, rows, cols } = layerDensity(net.layers[i - 1].shape, L.shape, L.geometry);
      density.textContent = `conv1 (${L.geometry.filters} filters ${L.geometry.sx}×${L.geometry.sx}, pad ${L.geometry.pad}) as a matrix is `
        + `${num(rows)} × ${num(cols)} = ${num(rows * cols)} entries, of which ${num(nnz)} are not zero: `
        + `a density of ${(100 * nnz / (rows * cols)).toFixed(2)}%. Storing it as a matrix would take `
        + `${num(rows * cols)} numbers; the layer stores ${num(L.params)}.`;
      density.dataset.nnz = nnz; density.dataset.entries = rows * cols;
    },
  };
}
