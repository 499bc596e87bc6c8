// Scene view: heatmap background, rectangles, lines, points and labels on one canvas.
// Plain ES module for anywidget; no imports, nothing fetched at run time.

const MARGIN = { left: 40, right: 10, top: 24, bottom: 32 };

function hexToRgb(hex) {
  const v = parseInt(hex.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

function heatImage(model) {
  const [rows, cols] = model.get("heatmap_shape");
  const raw = model.get("heatmap");
  if (!rows || !cols || !raw) return null;
  const bytes = raw instanceof DataView
    ? new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength)
    : new Uint8Array(raw.buffer || raw);
  const palette = model.get("palette").map(hexToRgb);
  const diverging = model.get("heatmap_mode") === "diverging";
  const off = document.createElement("canvas");
  off.width = cols;
  off.height = rows;
  const ctx = off.getContext("2d");
  const img = ctx.createImageData(cols, rows);
  const [a, b] = [palette[0], palette[1]];
  for (let i = 0; i < rows * cols; i++) {
    const v = bytes[i];
    let rgb;
    if (diverging) {
      const s = (v - 127.5) / 127.5;
      const c = s < 0 ? a : b;
      const w = Math.abs(s) * 0.6;
      rgb = [255 + (c[0] - 255) * w, 255 + (c[1] - 255) * w, 255 + (c[2] - 255) * w];
    } else {
      const c = palette[v % palette.length];
      rgb = [255 + (c[0] - 255) * 0.35, 255 + (c[1] - 255) * 0.35, 255 + (c[2] - 255) * 0.35];
    }
    img.data[4 * i] = rgb[0];
    img.data[4 * i + 1] = rgb[1];
    img.data[4 * i + 2] = rgb[2];
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  return { canvas: off, smooth: diverging };
}

function render({ model, el }) {
  const canvas = document.createElement("canvas");
  canvas.className = "aiclass-scene";
  canvas.style.touchAction = "none";
  el.appendChild(canvas);
  let pending = false;
  let dragging = -1;
  let heat = null;
  let heatDirty = true;

  const plot = () => {
    const w = model.get("width");
    const h = model.get("height");
    return { x: MARGIN.left, y: MARGIN.top, w: w - MARGIN.left - MARGIN.right,
             h: h - MARGIN.top - MARGIN.bottom };
  };
  const toPx = (x, y) => {
    const p = plot();
    const [x0, x1] = model.get("xlim");
    const [y0, y1] = model.get("ylim");
    return [p.x + ((x - x0) / (x1 - x0)) * p.w, p.y + (1 - (y - y0) / (y1 - y0)) * p.h];
  };
  const toData = (px, py) => {
    const p = plot();
    const [x0, x1] = model.get("xlim");
    const [y0, y1] = model.get("ylim");
    return [x0 + ((px - p.x) / p.w) * (x1 - x0), y0 + (1 - (py - p.y) / p.h) * (y1 - y0)];
  };

  function draw() {
    pending = false;
    const w = model.get("width");
    const h = model.get("height");
    const ratio = window.devicePixelRatio || 1;
    if (canvas.width !== w * ratio || canvas.height !== h * ratio) {
      canvas.width = w * ratio;
      canvas.height = h * ratio;
      canvas.style.width = w + "px";
      canvas.style.height = h + "px";
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, w, h);
    const p = plot();
    ctx.save();
    ctx.beginPath();
    ctx.rect(p.x, p.y, p.w, p.h);
    ctx.clip();
    if (heatDirty) {
      heat = heatImage(model);
      heatDirty = false;
    }
    if (heat) {
      ctx.imageSmoothingEnabled = heat.smooth;
      ctx.drawImage(heat.canvas, p.x, p.y, p.w, p.h);
    }
    const palette = model.get("palette");
    for (const [x0, y0, x1, y1, color, alpha] of model.get("rects")) {
      const [ax, ay] = toPx(x0, y1);
      const [bx, by] = toPx(x1, y0);
      ctx.globalAlpha = alpha ?? 1;
      ctx.fillStyle = color;
      ctx.fillRect(ax, ay, bx - ax, by - ay);
    }
    ctx.globalAlpha = 1;
    for (const line of model.get("lines")) {
      ctx.beginPath();
      ctx.strokeStyle = line.color || "#333";
      ctx.lineWidth = line.width || 2;
      ctx.setLineDash(line.dash ? [6, 4] : []);
      line.x.forEach((x, i) => {
        const [px, py] = toPx(x, line.y[i]);
        if (i === 0) ctx.moveTo(px, py);
        else ctx.lineTo(px, py);
      });
      ctx.stroke();
    }
    ctx.setLineDash([]);
    for (const [x, y, cls, style] of model.get("points")) {
      const [px, py] = toPx(x, y);
      const color = palette[cls % palette.length];
      ctx.beginPath();
      ctx.lineWidth = 1.5;
      if (style === 2) {
        ctx.rect(px - 7, py - 7, 14, 14);
        ctx.fillStyle = color;
        ctx.fill();
        ctx.strokeStyle = "#000";
        ctx.lineWidth = 2.5;
        ctx.stroke();
      } else if (style === 3) {
        ctx.strokeStyle = color;
        ctx.lineWidth = 2.5;
        ctx.moveTo(px - 5, py - 5); ctx.lineTo(px + 5, py + 5);
        ctx.moveTo(px + 5, py - 5); ctx.lineTo(px - 5, py + 5);
        ctx.stroke();
      } else {
        ctx.arc(px, py, 4.5, 0, 2 * Math.PI);
        ctx.strokeStyle = style === 1 ? color : "#fff";
        ctx.fillStyle = color;
        if (style !== 1) ctx.fill();
        ctx.stroke();
      }
    }
    ctx.font = "12px sans-serif";
    for (const [x, y, text, color] of model.get("labels")) {
      const [px, py] = toPx(x, y);
      ctx.fillStyle = color || "#222";
      ctx.fillText(text, px, py);
    }
    ctx.restore();
    ctx.strokeStyle = "#888";
    ctx.lineWidth = 1;
    ctx.strokeRect(p.x, p.y, p.w, p.h);
    ctx.fillStyle = "#222";
    ctx.font = "bold 13px sans-serif";
    ctx.textAlign = "center";
    ctx.fillText(model.get("title"), w / 2, 16);
    ctx.font = "11px sans-serif";
    const [x0, x1] = model.get("xlim");
    const [y0, y1] = model.get("ylim");
    const fmt = (v) => (Math.abs(v) >= 100 ? v.toFixed(0) : +v.toFixed(2)).toString();
    ctx.fillText(model.get("xlabel"), p.x + p.w / 2, h - 6);
    ctx.textAlign = "left";
    ctx.fillText(fmt(x0), p.x, p.y + p.h + 13);
    ctx.textAlign = "right";
    ctx.fillText(fmt(x1), p.x + p.w, p.y + p.h + 13);
    ctx.fillText(fmt(y1), p.x - 3, p.y + 10);
    ctx.fillText(fmt(y0), p.x - 3, p.y + p.h);
    ctx.save();
    ctx.translate(12, p.y + p.h / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = "center";
    ctx.fillText(model.get("ylabel"), 0, 0);
    ctx.restore();
    el.dataset.frame = String(model.get("frame"));
  }

  const schedule = () => {
    if (!pending) {
      pending = true;
      requestAnimationFrame(draw);
    }
  };
  const markHeat = () => { heatDirty = true; schedule(); };

  const eventPos = (event) => {
    const r = canvas.getBoundingClientRect();
    return [event.clientX - r.left, event.clientY - r.top];
  };
  canvas.addEventListener("pointerdown", (event) => {
    const mode = model.get("mode");
    const [px, py] = eventPos(event);
    if (mode.includes("drag")) {
      let best = -1;
      let bestDist = 10;
      model.get("points").forEach(([x, y], i) => {
        const [qx, qy] = toPx(x, y);
        const d = Math.hypot(qx - px, qy - py);
        if (d < bestDist) { best = i; bestDist = d; }
      });
      if (best >= 0) {
        dragging = best;
        canvas.setPointerCapture(event.pointerId);
        return;
      }
    }
    if (mode.includes("add")) {
      const [x, y] = toData(px, py);
      model.send({ event: "click", x, y });
    }
  });
  let lastSent = 0;
  canvas.addEventListener("pointermove", (event) => {
    if (dragging < 0) return;
    const now = performance.now();
    if (now - lastSent < 33) return;
    lastSent = now;
    const [x, y] = toData(...eventPos(event));
    model.send({ event: "drag", index: dragging, x, y });
  });
  canvas.addEventListener("pointerup", (event) => {
    if (dragging < 0) return;
    const [x, y] = toData(...eventPos(event));
    model.send({ event: "drag", index: dragging, x, y });
    dragging = -1;
  });

  model.on("change:heatmap", markHeat);
  model.on("change:heatmap_shape", markHeat);
  model.on("change:heatmap_mode", markHeat);
  model.on("change:palette", markHeat);
  for (const name of ["points", "lines", "rects", "labels", "xlim", "ylim", "title",
                      "xlabel", "ylabel", "width", "height", "frame"]) {
    model.on(`change:${name}`, schedule);
  }
  draw();
}

export default { render };
