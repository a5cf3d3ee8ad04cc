"""One self-contained html page: the SVG inline, pan (drag) and zoom (wheel, buttons), and a
side panel that shows a clicked node's full value and gradient. No external files."""

from __future__ import annotations

import html
import json
import re
from typing import Any

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>__TITLE__</title>
<style>
  html, body { margin: 0; height: 100%; font-family: Helvetica, Arial, sans-serif; color: #1e293b; }
  body { display: flex; }
  #view { flex: 1; position: relative; overflow: hidden; background: #fff; cursor: grab; }
  #view.dragging { cursor: grabbing; }
  #view svg { width: 100%; height: 100%; display: block; }
  #view g.node { cursor: pointer; }
  #view g.node.selected path, #view g.node.selected polygon { stroke: #2563eb; stroke-width: 3px; }
  #tools { position: absolute; top: 8px; right: 8px; display: flex; gap: 4px; }
  #tools input { font-size: 13px; padding: 2px 6px; border: 1px solid #94a3b8;
                 border-radius: 4px; width: 190px; }
  #view g.node.found path, #view g.node.found polygon { stroke: #f59e0b; stroke-width: 3px; }
  #tools button { font-size: 14px; padding: 2px 9px; border: 1px solid #94a3b8;
                  background: #f8fafc; border-radius: 4px; cursor: pointer; }
  #panel { width: 380px; border-left: 1px solid #cbd5e1; padding: 12px 14px; overflow: auto;
           background: #f8fafc; box-sizing: border-box; }
  #panel h2 { font-size: 16px; margin: 0 0 4px; }
  #panel .meta { color: #64748b; font-size: 12px; margin-bottom: 10px; }
  #panel h3 { font-size: 12px; margin: 12px 0 4px; text-transform: uppercase; color: #64748b; }
  #panel h3.grad { color: #dc2626; }
  #panel pre { font-size: 11px; background: #fff; border: 1px solid #e2e8f0; padding: 6px;
               margin: 0; white-space: pre; overflow: auto; }
  #panel .hint { color: #64748b; font-size: 13px; }
</style>
</head>
<body>
<div id="view">
__SVG__
<div id="tools"><input id="find" type="search" placeholder="find: name or op, Enter"
 title="find a node by name or op; Enter jumps to the next match">
<button id="zoom-in" title="zoom in">+</button>
<button id="zoom-out" title="zoom out">&minus;</button>
<button id="zoom-fit" title="fit the whole graph">fit</button></div>
</div>
<aside id="panel"><h2 id="node-title">__TITLE__</h2>
<div id="node-meta" class="meta"></div>
<div id="node-body"><p class="hint">Click a node to see its full value and gradient.
Drag to pan, scroll to zoom.</p></div></aside>
<script type="application/json" id="graph-data">__DATA__</script>
<script>
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("graph-data").textContent);
  const view = document.getElementById("view");
  const svg = view.querySelector("svg");
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  const full = svg.viewBox.baseVal;
  let box = { x: full.x, y: full.y, w: full.width, h: full.height };
  const home = Object.assign({}, box);
  function apply() { svg.setAttribute("viewBox", `${box.x} ${box.y} ${box.w} ${box.h}`); }
  function zoom(factor, cx, cy) {
    const r = svg.getBoundingClientRect();
    const px = cx === undefined ? 0.5 : (cx - r.left) / r.width;
    const py = cy === undefined ? 0.5 : (cy - r.top) / r.height;
    const nw = box.w * factor, nh = box.h * factor;
    box = { x: box.x + (box.w - nw) * px, y: box.y + (box.h - nh) * py, w: nw, h: nh };
    apply();
  }
  view.addEventListener("wheel", (e) => {
    e.preventDefault();
    zoom(e.deltaY > 0 ? 1.15 : 1 / 1.15, e.clientX, e.clientY);
  }, { passive: false });
  let drag = null, moved = false;
  view.addEventListener("mousedown", (e) => {
    if (e.target.closest("#tools")) return;
    drag = { x: e.clientX, y: e.clientY, box: Object.assign({}, box) };
    moved = false;
  });
  window.addEventListener("mousemove", (e) => {
    if (!drag) return;
    const r = svg.getBoundingClientRect();
    const s = Math.max(box.w / r.width, box.h / r.height);
    const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) { moved = true; view.classList.add("dragging"); }
    box.x = drag.box.x - dx * s;
    box.y = drag.box.y - dy * s;
    apply();
  });
  window.addEventListener("mouseup", () => { drag = null; view.classList.remove("dragging"); });
  document.getElementById("zoom-in").onclick = () => zoom(1 / 1.4);
  document.getElementById("zoom-out").onclick = () => zoom(1.4);
  document.getElementById("zoom-fit").onclick = () => { box = Object.assign({}, home); apply(); };

  function section(name, text, cls) {
    const h = document.createElement("h3");
    h.textContent = name;
    if (cls) h.className = cls;
    const pre = document.createElement("pre");
    pre.textContent = text;
    pre.id = "node-" + name.split(" ")[0];
    return [h, pre];
  }
  function show(id, g) {
    const d = data[id];
    if (!d) return;
    svg.querySelectorAll("g.node.selected").forEach((n) => n.classList.remove("selected"));
    g.classList.add("selected");
    document.getElementById("node-title").textContent = d.title;
    const meta = [d.kind];
    if (d.shape) meta.push("shape (" + d.shape.join(", ") + ")");
    if (d.dtype) meta.push(d.dtype);
    if (d.op && d.inputs === undefined) meta.push("made by " + d.op);
    if (d.inputs !== undefined) meta.push(d.inputs + " input" + (d.inputs === 1 ? "" : "s"));
    document.getElementById("node-meta").textContent = meta.join(" · ");
    const body = document.getElementById("node-body");
    body.replaceChildren();
    if (d.data !== undefined) body.append(...section("data", d.data));
    if (d.grad) body.append(...section("grad (d output / d tensor)", d.grad, "grad"));
    else if (d.data !== undefined) body.append(...section("grad", "none", "grad"));
    if (d.text) { const p = document.createElement("pre"); p.textContent = d.text; body.append(p); }
  }
  function centre(g) {
    // the node's box in its own coordinates, mapped into the svg's (the viewBox's)
    const b = g.getBBox();
    const m = svg.getScreenCTM().inverse().multiply(g.getScreenCTM());
    const p = svg.createSVGPoint();
    p.x = b.x + b.width / 2;
    p.y = b.y + b.height / 2;
    const c = p.matrixTransform(m);
    const f = Math.min(1, (b.width * 5) / box.w);  // zoom in until the node is readable
    box.w *= f;
    box.h *= f;
    box.x = c.x - box.w / 2;
    box.y = c.y - box.h / 2;
    apply();
  }
  let matches = [], next = 0;
  const find = document.getElementById("find");
  find.addEventListener("input", () => { matches = []; next = 0; });
  find.addEventListener("keydown", (e) => {
    if (e.key !== "Enter") return;
    const q = find.value.trim().toLowerCase();
    svg.querySelectorAll("g.node.found").forEach((n) => n.classList.remove("found"));
    if (!q) return;
    if (!matches.length) {
      matches = Array.from(svg.querySelectorAll("g.node")).filter((g) => {
        const t = g.querySelector("title"), d = t && data[t.textContent];
        return d && [d.title, d.op || ""].some((s) => s.toLowerCase().includes(q));
      });
    }
    matches.forEach((n) => n.classList.add("found"));
    if (!matches.length) return;
    const g = matches[next % matches.length];
    next += 1;
    centre(g);
    show(g.querySelector("title").textContent, g);
  });
  svg.querySelectorAll("g.node").forEach((g) => {
    g.addEventListener("click", (e) => {
      if (moved) return;
      e.stopPropagation();
      const t = g.querySelector("title");
      if (t) show(t.textContent, g);
    });
  });
})();
</script>
</body>
</html>
"""


def page(svg: str, node_data: dict[str, dict[str, Any]], title: str | None = None) -> str:
    """The html page around ``svg`` (Graphviz's output) with ``node_data`` as JSON."""
    start = svg.find("<svg")
    if start < 0:
        raise ValueError("svg does not contain an <svg> element")
    svg = re.sub(r"<!--.*?-->", "", svg[start:], flags=re.S)
    payload = json.dumps(node_data, ensure_ascii=False).replace("</", "<\\/")
    text = html.escape(title or "tinygrad_ce graph")
    head, rest = _PAGE.split("__SVG__")
    mid, tail = rest.split("__DATA__")
    return head.replace("__TITLE__", text) + svg + mid.replace("__TITLE__", text) + payload + tail
