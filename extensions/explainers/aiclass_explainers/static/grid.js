// Grid view: shaded cells with numbers; optional painting and hover reporting.
// Plain ES module for anywidget; no imports, nothing fetched at run time.

const COLORMAPS = {
  gray: (s) => { const v = 255 - Math.round(s * 255); return [v, v, v]; },
  blues: (s) => [Math.round(247 - s * 239), Math.round(251 - s * 170), Math.round(255 - s * 99)],
  diverging: (s) => {
    const d = (s - 0.5) * 2;
    return d < 0
      ? [Math.round(255 + d * 222), Math.round(255 + d * 137), Math.round(255 + d * 75)]
      : [255, Math.round(255 - d * 178), Math.round(255 - d * 215)];
  },
};

function render({ model, el }) {
  const title = document.createElement("div");
  title.style.cssText = "font: bold 13px sans-serif; margin: 2px 0 4px 0; text-align: center";
  const canvas = document.createElement("canvas");
  canvas.className = "aiclass-grid";
  canvas.style.touchAction = "none";
  canvas.addEventListener("contextmenu", (event) => event.preventDefault());
  el.appendChild(title);
  el.appendChild(canvas);
  let values = model.get("values");
  let pending = false;
  let painting = 0;
  let sendPending = false;
  const LABEL = 28;

  const offsets = () => [model.get("row_labels").length ? LABEL : 0,
                         model.get("col_labels").length ? 16 : 0];

  function draw() {
    pending = false;
    const rows = values.length;
    const cols = rows ? values[0].length : 0;
    const size = model.get("cell_size");
    const [ox, oy] = offsets();
    const w = ox + cols * size + 1;
    const h = oy + rows * size + 1;
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
    const vmin = model.get("vmin");
    const vmax = model.get("vmax");
    const cmap = COLORMAPS[model.get("colormap")] || COLORMAPS.gray;
    const numbers = model.get("show_numbers") && size >= 14;
    const decimals = model.get("decimals");
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.font = `${Math.min(12, Math.floor(size / 2.2))}px sans-serif`;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const v = values[r][c];
        const s = Math.max(0, Math.min(1, (v - vmin) / (vmax - vmin || 1)));
        const [R, G, B] = cmap(s);
        ctx.fillStyle = `rgb(${R},${G},${B})`;
        ctx.fillRect(ox + c * size, oy + r * size, size, size);
        if (numbers) {
          ctx.fillStyle = R * 0.3 + G * 0.59 + B * 0.11 < 128 ? "#fff" : "#000";
          ctx.fillText(v.toFixed(decimals), ox + c * size + size / 2, oy + r * size + size / 2);
        }
      }
    }
    ctx.strokeStyle = "#ccc";
    ctx.lineWidth = 1;
    if (size >= 10) {
      for (let r = 0; r <= rows; r++) {
        ctx.beginPath(); ctx.moveTo(ox, oy + r * size + 0.5);
        ctx.lineTo(ox + cols * size, oy + r * size + 0.5); ctx.stroke();
      }
      for (let c = 0; c <= cols; c++) {
        ctx.beginPath(); ctx.moveTo(ox + c * size + 0.5, oy);
        ctx.lineTo(ox + c * size + 0.5, oy + rows * size); ctx.stroke();
      }
    }
    ctx.fillStyle = "#222";
    ctx.font = "11px sans-serif";
    model.get("row_labels").forEach((text, r) => ctx.fillText(text, LABEL / 2, oy + r * size + size / 2));
    model.get("col_labels").forEach((text, c) => ctx.fillText(text, ox + c * size + size / 2, 8));
    ctx.lineWidth = 3;
    for (const [r0, c0, r1, c1, color] of model.get("highlight")) {
      ctx.strokeStyle = color || "#d62728";
      ctx.strokeRect(ox + c0 * size + 1.5, oy + r0 * size + 1.5,
                     (c1 - c0 + 1) * size - 2, (r1 - r0 + 1) * size - 2);
    }
    title.textContent = model.get("title");
    el.dataset.frame = String(model.get("frame"));
  }

  const schedule = () => {
    if (!pending) {
      pending = true;
      requestAnimationFrame(draw);
    }
  };

  const cellAt = (event) => {
    const rect = canvas.getBoundingClientRect();
    const size = model.get("cell_size");
    const [ox, oy] = offsets();
    const c = Math.floor((event.clientX - rect.left - ox) / size);
    const r = Math.floor((event.clientY - rect.top - oy) / size);
    const rows = values.length;
    const cols = rows ? values[0].length : 0;
    return r >= 0 && c >= 0 && r < rows && c < cols ? [r, c] : [-1, -1];
  };

  const paint = (event) => {
    const [r, c] = cellAt(event);
    if (r < 0) return;
    const value = painting > 0 ? model.get("vmax") : model.get("vmin");
    const brush = model.get("brush");
    values = values.map((row) => row.slice());
    for (let dr = 0; dr < brush; dr++) {
      for (let dc = 0; dc < brush; dc++) {
        if (r + dr < values.length && c + dc < values[0].length) values[r + dr][c + dc] = value;
      }
    }
    schedule();
    if (!sendPending) {
      sendPending = true;
      setTimeout(() => {
        sendPending = false;
        model.set("values", values);
        model.save_changes();
      }, 50);
    }
  };

  canvas.addEventListener("pointerdown", (event) => {
    if (!model.get("editable")) return;
    painting = event.button === 2 || event.shiftKey ? -1 : 1;
    canvas.setPointerCapture(event.pointerId);
    paint(event);
  });
  canvas.addEventListener("pointermove", (event) => {
    if (painting) { paint(event); return; }
    const cell = cellAt(event);
    const old = model.get("hover");
    if (cell[0] !== old[0] || cell[1] !== old[1]) {
      model.set("hover", cell);
      model.save_changes();
    }
  });
  canvas.addEventListener("pointerup", () => { painting = 0; });
  canvas.addEventListener("pointerleave", () => {
    if (painting) return;
    model.set("hover", [-1, -1]);
    model.save_changes();
  });

  model.on("change:values", () => { values = model.get("values"); schedule(); });
  for (const name of ["vmin", "vmax", "colormap", "cell_size", "show_numbers", "decimals",
                      "highlight", "row_labels", "col_labels", "title", "frame"]) {
    model.on(`change:${name}`, schedule);
  }
  draw();
}

export default { render };
