// Wiring: the data source, the drawing, the test picker, forward/backward, the cell, the tabs.
"use strict";

(async () => {
  const $ = (id) => document.getElementById(id);
  const source = TG.source;
  const model = await source.model();
  TG.model = model;
  let trace = null, request = null, cell = null, playing = null, classPicked = false;
  const status = (text) => { $("tg-status").textContent = text; };
  const backward = () => $("tg-backward").checked;
  const target = () => Number($("tg-class").value);
  const graph = TG.graphTab($("tg-graph"), $("tg-step"), model.graph_svg);
  const graphView = TG.gradGraphView($("tg-grad-graph"), model.grad_graph_svg,
    $("tg-loss-view"), $("tg-grad-view"), $("tg-view-grad"));

  const render = () => {
    if (!trace) return;
    const input = $("tg-input");
    input.replaceChildren(TG.heatmap(trace.image, 0, 28, 28, [0, 255], false, 4, TG.GRAY));
    TG.bars($("tg-bars"), trace.probs, trace.prediction);
    $("tg-prediction").textContent = `prediction ${trace.prediction} ` +
      `(probability ${trace.probs[trace.prediction].toFixed(3)})`;
    $("tg-prediction").dataset.class = trace.prediction;
    if (!classPicked) $("tg-class").value = trace.target;  // the predicted class, until picked
    const grads = backward() ? trace.grads[String(target())] : null;
    if (backward() && !grads) return;  // a server answer for the new class is on its way
    TG.overview($("tg-overview"), model, trace, grads, showCell);
    // the saliency map is a gradient: shown in the backward view only, no empty slot before
    $("tg-saliency-box").classList.toggle("hidden", !backward());
    if (backward()) {
      $("tg-saliency").replaceChildren(TG.heatmap(grads.saliency, 0, 28, 28,
        TG.range(grads.saliency, true), true, 4));
    } else $("tg-saliency").replaceChildren();
    if (cell) showCell(cell.layer, cell.channel, cell.row, cell.col);
    graph.load(trace.steps);
  };

  const showCell = (layer, channel, row, col) => {
    const computed = TG.convCell(trace, model, layer, channel, row, col);
    cell = computed;
    TG.cellPanel($("tg-cell"), computed, model.layers[layer].name);
    TG.highlight($("tg-overview"), computed);
  };

  const fetchTrace = async () => {
    const body = { ...request };
    if (classPicked) body.target = target();
    status("computing…");
    try {
      const answer = await source.trace(body);
      trace = answer;
      TG.lastRequest = body;
      TG.lastTrace = answer;
      status("");
      render();
    } catch (error) { status(`error: ${error.message}`); }
  };
  const send = TG.throttle(fetchTrace);
  TG.idle = () => send.idle();

  const pad = source.kind === "server" ? TG.makeCanvas($("tg-draw"), () => {
    if (!TG.inked) return;
    request = { png: pad.png() };
    send();
  }) : null;
  if (!pad) $("tg-drawing").classList.add("hidden");
  $("tg-clear").addEventListener("click", () => pad && pad.clear());

  const picker = $("tg-tests");
  for (const t of source.tests()) {
    const label = t.label === null ? "" : ` (label ${t.label})`;
    picker.append(TG.el("option", { value: t.id }, `${t.name}${label}`));
  }
  picker.addEventListener("change", () => {
    if (picker.value === "") return;
    request = { test: Number(picker.value) };
    send();
  });
  for (let k = 0; k < 10; k++) $("tg-class").append(TG.el("option", { value: k }, String(k)));
  const modeChanged = () => {
    $("tg-class-box").classList.toggle("hidden", !backward());
    if (request) send();
  };
  $("tg-forward").addEventListener("change", modeChanged);
  $("tg-backward").addEventListener("change", modeChanged);
  $("tg-class").addEventListener("change", () => { classPicked = true; if (request) send(); });

  $("tg-play").addEventListener("click", () => {
    if (playing) {
      clearInterval(playing);
      playing = null;
      $("tg-play").textContent = "play";
      return;
    }
    if (!cell) return;
    $("tg-play").textContent = "pause";
    playing = setInterval(() => {
      const [, H, W] = trace.layers[cell.layer].shape;
      let { row, col } = cell;
      col += 1;
      if (col >= W) { col = 0; row = (row + 1) % H; }
      showCell(cell.layer, cell.channel, row, col);
    }, 150);
  });

  const epochs = model.epochs.length;
  if (epochs) {
    $("tg-epoch").max = epochs; $("tg-epoch").value = epochs;
    $("tg-epoch").addEventListener("input", () => {
      $("tg-epoch-label").textContent = `epoch ${$("tg-epoch").value}`;
      TG.kernelView($("tg-kernels"), model, Number($("tg-epoch").value));
    });
    $("tg-epoch-label").textContent = `epoch ${epochs}`;
  } else $("tg-epoch-box").classList.add("hidden");
  TG.kernelView($("tg-kernels"), model, epochs);

  for (const tab of ["overview", "graph"]) {
    $(`tg-tab-${tab}`).addEventListener("click", () => {
      for (const other of ["overview", "graph"]) {
        $(`tg-pane-${other}`).classList.toggle("hidden", other !== tab);
        $(`tg-tab-${other}`).classList.toggle("on", other === tab);
      }
    });
  }
  $("tg-view-loss").addEventListener("change", graphView);
  $("tg-view-grad").addEventListener("change", graphView);
  $("tg-next").addEventListener("click", graph.step);
  $("tg-reset").addEventListener("click", graph.reset);

  if (source.tests().length) {  // start on the first test image
    picker.value = source.tests()[0].id;
    request = { test: Number(picker.value) };
    send();
  }
  TG.ready = true;
})();
