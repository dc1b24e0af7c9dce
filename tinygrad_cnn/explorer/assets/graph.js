// The graph tab: the loss's autograd graph (draw_graph's picture) and its backward, step by step;
// or the gradient's own graph, as backward(create_graph=True) records it.
"use strict";

TG.summaryText = (s) => {
  const shape = s.shape.length ? s.shape.join("×") : "scalar";
  if (s.values) return `${shape}  [${s.values.map(TG.fmt).join(", ")}]`;
  return `${shape}  min ${TG.fmt(s.min)}  mean ${TG.fmt(s.mean)}  max ${TG.fmt(s.max)}  ` +
    `‖g‖ ${TG.fmt(s.norm)}`;
};

TG.graphTab = (picture, panel, svg) => {
  let steps = [], at = -1;
  picture.innerHTML = svg || "<p class='note'>Graphviz's <code>dot</code> was not found when " +
    "this page was made, so the graph is listed step by step only.</p>";
  const node = (id) => Array.from(picture.querySelectorAll("g.node"))
    .find((g) => g.querySelector("title")?.textContent === id);
  const mark = (id, cls) => { const g = node(id); if (g) g.classList.add(cls); return g; };
  const show = () => {
    for (const g of picture.querySelectorAll(".active, .sent")) {
      g.classList.remove("active", "sent");
    }
    const counter = `step ${at + 1} of ${steps.length}`;
    if (at < 0) {
      panel.replaceChildren(TG.el("p", {}, `${steps.length} ops to backward through. Press step.`));
      Object.assign(panel.dataset, { step: -1, node: "" });
      TG.shown.step = null;
      return;
    }
    const step = steps[at];
    const active = mark(`op${step.node}`, "active");
    if (active) active.scrollIntoView({ block: "nearest", inline: "nearest" });
    const where = step.module ? ` in layer ${step.module}` : "";
    const lines = [TG.el("h3", {}, `${counter}: ${step.op}${where}`),
      TG.el("p", {}, "incoming gradient ", TG.el("code", {}, TG.summaryText(step.grad_out)))];
    for (const send of step.sends) {
      mark(`t${send.node}`, "sent");
      const who = send.name || `input ${send.index}`;
      lines.push(TG.el("p", {}, `sends to ${who} `, TG.el("code", {}, TG.summaryText(send.grad))));
      if (send.leaf) {
        lines.push(TG.el("p", { class: "leaf" }, `${who}.grad accumulated this gradient`));
      }
    }
    panel.replaceChildren(...lines);
    Object.assign(panel.dataset, { step: at, node: step.node });
    TG.shown.step = step;
  };
  return {
    load: (newSteps) => { steps = newSteps; at = Math.min(at, steps.length - 1); show(); },
    step: () => { if (at < steps.length - 1) { at += 1; show(); } },
    reset: () => { at = -1; show(); },
  };
};

TG.gradGraphView = (picture, svg, lossView, gradView, showGrad) => {
  picture.innerHTML = svg || "<p class='note'>Graphviz's <code>dot</code> was not found when " +
    "this page was made, so the gradient's graph is not drawn.</p>";
  const toggle = () => {
    lossView.classList.toggle("hidden", showGrad.checked);
    gradView.classList.toggle("hidden", !showGrad.checked);
  };
  return toggle;
};
