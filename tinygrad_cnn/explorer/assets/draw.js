// The drawing canvas: mouse, touch and pen through Pointer Events; white ink on black like MNIST.
"use strict";

TG.makeCanvas = (canvas, onChange) => {
  const ctx = canvas.getContext("2d");
  let drawing = false, last = null;
  const clear = () => {
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    TG.inked = false;
  };
  const point = (event) => {
    const box = canvas.getBoundingClientRect();
    return [(event.clientX - box.left) * canvas.width / box.width,
      (event.clientY - box.top) * canvas.height / box.height];
  };
  const line = (a, b) => {
    ctx.fillStyle = ctx.strokeStyle = "#fff";
    ctx.lineWidth = canvas.width / 14;
    ctx.lineCap = ctx.lineJoin = "round";
    ctx.beginPath();
    if (a[0] === b[0] && a[1] === b[1]) {  // canvas strokes skip zero-length lines: a dot
      ctx.arc(a[0], a[1], ctx.lineWidth / 2, 0, 2 * Math.PI);
      ctx.fill();
    } else {
      ctx.moveTo(a[0], a[1]);
      ctx.lineTo(b[0], b[1]);
      ctx.stroke();
    }
    TG.inked = true;
  };
  canvas.addEventListener("pointerdown", (event) => {
    drawing = true;
    last = point(event);
    line(last, last);
    canvas.setPointerCapture(event.pointerId);
    onChange();
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    const p = point(event);
    line(last, p);
    last = p;
    onChange();
  });
  const stop = () => { if (drawing) { drawing = false; onChange(); } };
  canvas.addEventListener("pointerup", stop);
  canvas.addEventListener("pointercancel", stop);
  clear();
  return { clear, png: () => canvas.toDataURL("image/png") };
};

// At most one request in flight: while one runs, later changes only mark the drawing dirty, and
// the newest drawing is sent when it returns (the picture follows the pen without a queue).
TG.throttle = (send) => {
  let busy = false, dirty = false;
  const run = async () => {
    if (busy) { dirty = true; return; }
    busy = true;
    try {
      do { dirty = false; await send(); } while (dirty);
    } finally { busy = false; }
  };
  run.idle = () => !busy && !dirty;
  return run;
};
