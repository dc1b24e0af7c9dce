// Pictures: heatmaps of feature maps and gradients, probability bars, kernels, the cell's numbers.
"use strict";

const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
const GRAY = [[0, 0, 0], [255, 255, 255]];
const DIVERGING = [[59, 76, 192], [141, 176, 254], [245, 245, 245], [244, 154, 123], [180, 4, 38]];

TG.GRAY = GRAY;
TG.colour = (stops, t) => {
  const x = Math.min(Math.max(t, 0), 1) * (stops.length - 1);
  const i = Math.min(Math.floor(x), stops.length - 2), f = x - i;
  return stops[i].map((a, k) => Math.round(a + (stops[i + 1][k] - a) * f));
};

// The colour scale of one layer: min..max forward, -m..m (m = max |g|) backward.
TG.range = (data, diverging) => {
  let lo = Infinity, hi = -Infinity;
  for (const v of data) { if (v < lo) lo = v; if (v > hi) hi = v; }
  if (diverging) { const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1; return [-m, m]; }
  return hi > lo ? [lo, hi] : [lo - 1, lo + 1];
};

TG.heatmap = (data, offset, H, W, range, diverging, scale, stops) => {
  const canvas = document.createElement("canvas");
  canvas.width = W; canvas.height = H;
  canvas.style.width = `${W * scale}px`; canvas.style.height = `${H * scale}px`;
  const ctx = canvas.getContext("2d");
  const pixels = ctx.createImageData(W, H);
  stops = stops || (diverging ? DIVERGING : VIRIDIS);
  for (let i = 0; i < H * W; i++) {
    const rgb = TG.colour(stops, (data[offset + i] - range[0]) / (range[1] - range[0]));
    pixels.data.set([...rgb, 255], 4 * i);
  }
  ctx.putImageData(pixels, 0, 0);
  return canvas;
};

TG.el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value; else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
};

TG.fmt = (v) => (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(4)
  : v.toPrecision(6).replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, ""));

TG.bars = (box, probs, prediction) => {
  const cls = (k) => `bar${k === prediction ? " top" : ""}`;
  box.replaceChildren(...probs.map((p, k) => TG.el("div", { class: cls(k) },
    TG.el("span", { class: "digit" }, String(k)),
    TG.el("span", { class: "fill", style: `width:${(100 * p).toFixed(1)}%` }),
    TG.el("span", { class: "p" }, p.toFixed(3)))));
};

// One overview row per layer: its channels as heatmaps (a dense layer as one strip of neurons).
TG.overview = (box, model, trace, grads, onCell) => {
  const backward = !!grads;
  const rows = [{ name: "input", kind: "image", shape: [1, 28, 28],
    data: backward ? grads.saliency : trace.input }];
  model.layers.forEach((layer, i) => rows.push({ name: layer.name, kind: layer.kind,
    shape: trace.layers[i].shape, data: backward ? grads.layers[i] : trace.layers[i].output,
    index: i }));
  TG.shown = { mode: backward ? "backward" : "forward", rows: rows.map((r) => Array.from(r.data)) };
  box.replaceChildren(...rows.map((row) => {
    const range = TG.range(row.data, backward);
    const maps = TG.el("div", { class: "maps" });
    if (row.shape.length === 3) {
      const [C, H, W] = row.shape;
      const scale = Math.max(1, Math.min(3, Math.floor(84 / Math.max(H, W))));
      for (let c = 0; c < C; c++) {
        const canvas = TG.heatmap(row.data, c * H * W, H, W, range, backward, scale);
        Object.assign(canvas.dataset, { layer: row.index ?? -1, channel: c, h: H, w: W });
        canvas.className = "map";
        if (row.index !== undefined && model.layers[row.index].kind === "Conv2d") {
          canvas.classList.add("clickable");
          canvas.addEventListener("click", (event) => {
            const box = canvas.getBoundingClientRect();
            onCell(row.index, c, Math.floor((event.clientY - box.top) * H / box.height),
              Math.floor((event.clientX - box.left) * W / box.width));
          });
        }
        maps.append(canvas);
      }
    } else {
      const n = row.data.length;
      const strip = TG.heatmap(row.data, 0, 1, n, range, backward, 1);
      strip.style.width = `${Math.min(900, n * (n <= 32 ? 20 : 8))}px`; strip.style.height = "18px";
      strip.className = "strip";
      maps.append(strip);
    }
    const title = `${row.name} ${row.kind}  ${row.shape.join("×")}`;
    return TG.el("div", { class: "row", "data-name": row.name },
      TG.el("div", { class: "label" }, title, TG.el("small", {},
        `${backward ? "grad" : "value"} ${TG.fmt(range[0])} … ${TG.fmt(range[1])}`)), maps);
  }));
};

// The window a cell reads, outlined on the previous row's maps.
TG.highlight = (box, cell) => {
  for (const old of box.querySelectorAll(".frame")) old.remove();
  const rows = box.querySelectorAll(".row");
  const previous = rows[cell.layer];  // row 0 is the input, so row `layer` feeds layer `layer`
  for (const canvas of previous.querySelectorAll("canvas.map")) {
    const s = canvas.getBoundingClientRect().width / Number(canvas.dataset.w);
    const frame = TG.el("div", { class: "frame" });
    Object.assign(frame.style, { left: `${canvas.offsetLeft + cell.cols[0] * s}px`,
      top: `${canvas.offsetTop + cell.rows[0] * s}px`,
      width: `${(cell.cols[cell.KW - 1] - cell.cols[0] + 1) * s}px`,
      height: `${(cell.rows[cell.KH - 1] - cell.rows[0] + 1) * s}px` });
    canvas.parentNode.append(frame);
  }
};

TG.grid = (values, c, KH, KW, cls) => {
  const table = TG.el("table", { class: `grid ${cls}` });
  for (let ky = 0; ky < KH; ky++) {
    table.append(TG.el("tr", {}, ...Array.from({ length: KW }, (_, kx) =>
      TG.el("td", {}, TG.fmt(values[(c * KH + ky) * KW + kx])))));
  }
  return table;
};

TG.cellPanel = (box, cell, name) => {
  const where = `${name} channel ${cell.channel}, cell (${cell.row}, ${cell.col})`;
  const parts = [TG.el("h3", {}, where)];
  for (let c = 0; c < cell.C; c++) {
    parts.push(TG.el("div", { class: "triple" }, TG.el("span", {}, `input ch ${c}`),
      TG.grid(cell.window, c, cell.KH, cell.KW, "window"), TG.el("span", {}, "×"),
      TG.grid(cell.kernel, c, cell.KH, cell.KW, "kernel"), TG.el("span", {}, "="),
      TG.grid(cell.products, c, cell.KH, cell.KW, "products")));
  }
  parts.push(TG.el("p", { class: "sum" }, `sum ${TG.fmt(cell.sum)} + bias ${TG.fmt(cell.bias)} = `,
    TG.el("b", { class: "value" }, TG.fmt(cell.value))));
  for (const [layer, kind, value] of cell.then) {
    parts.push(TG.el("p", { class: "then" }, `${layer} ${kind} → `,
      TG.el("b", {}, TG.fmt(value))));
  }
  box.replaceChildren(...parts);
  TG.shown.cell = cell;
};

TG.kernelView = (box, model, epoch) => {
  const parts = [];
  for (const [name, k] of Object.entries(model.kernels)) {
    const epochs = name === model.epoch_layer ? model.epochs : [];
    const trained = () => k.w || (k.w = TG.f32(k.weight));
    const weight = epochs.length && epoch ? TG.f32(epochs[epoch - 1]) : trained();
    const [O, C, KH, KW] = k.shape;
    const range = TG.range(weight, true), grid = TG.el("div", { class: "kgrid" });
    grid.style.gridTemplateColumns = `repeat(${C}, auto)`;
    for (let o = 0; o < O; o++) {
      for (let c = 0; c < C; c++) {
        const scale = Math.max(4, Math.floor(36 / KH));
        grid.append(TG.heatmap(weight, (o * C + c) * KH * KW, KH, KW, range, true, scale));
      }
    }
    const label = epochs.length && epoch ? `epoch ${epoch} of ${epochs.length}` : "trained weights";
    parts.push(TG.el("div", { class: "kernels" }, TG.el("div", { class: "label" },
      `${name} kernels ${O}×${C}×${KH}×${KW} (${label}; rows: output channels)`), grid));
  }
  box.replaceChildren(...parts);
};
