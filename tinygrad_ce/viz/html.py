"""One self-contained html page: the SVG inline, pan (drag) and zoom (wheel, buttons), and a
side panel that shows a clicked node's full value and gradient, or an op's backward rule.
It opens at a readable zoom centred on the output; a click on a module's box folds it into
one box (a graph of more than ``FOLD_AT`` nodes opens folded); with ``draw_graph(...,
steps=True)``, Next / Previous / Play walk the backward pass in the engine's order. No
external files."""

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
  #panel h3 { font-size: 12px; margin: 12px 0 4px; color: #64748b; }
  #panel h3.grad { color: #dc2626; }
  #panel pre { font-size: 11px; background: #fff; border: 1px solid #e2e8f0; padding: 6px;
               margin: 0; white-space: pre; overflow: auto; }
  #panel .hint { color: #64748b; font-size: 13px; }
  #notes { font-size: 12px; color: #a16207; background: #fef9c3; border: 1px solid #eab308;
           padding: 4px 6px; margin-bottom: 8px; }
  #notes:empty { display: none; }
  #stepper { margin-bottom: 10px; font-size: 13px; }
  #stepper button { font-size: 13px; padding: 2px 8px; border: 1px solid #94a3b8;
                    background: #fff; border-radius: 4px; cursor: pointer; }
  #panel .rule { font-size: 12px; background: #ede9fe; border: 1px solid #c4b5fd;
                 padding: 4px 6px; }
  #view g.cluster { cursor: pointer; }
  #view g.cluster.folded polygon, #view g.cluster.folded path { fill: #cbd5e1;
      stroke-width: 2px; }
  #view g.node.step-node path, #view g.node.step-node polygon { stroke: #dc2626;
      stroke-width: 4px; }
  #view g.node.step-op path, #view g.node.step-op polygon { stroke: #dc2626; stroke-width: 3px;
      fill: #fecaca; }
  #view g.node.step-to path, #view g.node.step-to polygon { stroke: #f97316; stroke-width: 3px;
      stroke-dasharray: 4 2; }
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
<aside id="panel"><div id="notes"></div>
<div id="stepper" hidden><b>Backward pass</b> <span id="step-info"></span><br>
<button id="step-prev" title="previous step">&#9664; Previous</button>
<button id="step-next" title="next step: the next op whose backward runs">Next &#9654;</button>
<button id="step-play" title="play every step">Play</button></div>
<h2 id="node-title">__TITLE__</h2>
<div id="node-meta" class="meta"></div>
<div id="node-body"><p class="hint">Click a node to see its full value and gradient, or an
op to see its backward rule; click a module's box to fold it. Drag to pan, scroll to zoom.</p>
</div></aside>
<script type="application/json" id="graph-data">__DATA__</script>
<script>
(function () {
  "use strict";
  const page = JSON.parse(document.getElementById("graph-data").textContent);
  const data = page.nodes;
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
    if (d.rule !== undefined) {
      const h = document.createElement("h3");
      h.textContent = "backward rule";
      const p = document.createElement("div");
      p.className = "rule";
      p.id = "node-rule";
      p.textContent = d.rule || "(its code states no rule)";
      body.append(h, p);
    }
    if (d.passes) {
      const p = document.createElement("p");
      p.className = "hint";
      p.textContent = ".grad holds the sum of " + d.passes + " backward passes";
      body.append(p);
    }
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

  // ----- folding module boxes -----
  const byTitle = {};
  svg.querySelectorAll("g.node, g.cluster, g.edge").forEach((g) => {
    const t = g.querySelector("title");
    if (t) byTitle[t.textContent] = g;
  });
  const folded = new Set();
  function refold() {
    const hidden = new Set();
    folded.forEach((c) => page.clusters[c].members.forEach((m) => hidden.add(m)));
    Object.keys(page.clusters).forEach((c) => {
      const g = byTitle[c];
      if (!g) return;
      const outer = Array.from(folded).some((f) => f !== c &&
        page.clusters[f].depth < page.clusters[c].depth &&
        page.clusters[c].members.every((m) => page.clusters[f].members.includes(m)));
      g.style.display = outer ? "none" : "";
      g.classList.toggle("folded", folded.has(c));
      const label = g.querySelector("text");
      if (label) {
        if (!label.dataset.text) label.dataset.text = label.textContent;
        label.textContent = folded.has(c) ? "\u25B8 " + label.dataset.text + " (" +
          page.clusters[c].members.length + " nodes folded: click to open)" : label.dataset.text;
      }
    });
    svg.querySelectorAll("g.node").forEach((g) => {
      const t = g.querySelector("title");
      g.style.display = t && hidden.has(t.textContent) ? "none" : "";
    });
    svg.querySelectorAll("g.edge").forEach((g) => {
      const t = g.querySelector("title");
      if (!t) return;
      const ends = t.textContent.split("->");
      g.style.display = ends.length === 2 && hidden.has(ends[0]) && hidden.has(ends[1])
        ? "none" : "";
    });
  }
  function toggleFold(c) {
    if (folded.has(c)) folded.delete(c); else folded.add(c);
    refold();
  }
  Object.keys(page.clusters).forEach((c) => {
    const g = byTitle[c];
    if (!g) return;
    g.addEventListener("click", (e) => {
      if (moved) return;
      e.stopPropagation();
      toggleFold(c);
    });
  });
  if (page.fold) {
    Object.keys(page.clusters).forEach((c) => { if (page.clusters[c].depth === 1) folded.add(c); });
    refold();
  }

  // ----- notes: what the picture leaves out -----
  const notes = document.getElementById("notes");
  (page.notes || []).forEach((n) => {
    const p = document.createElement("div");
    p.textContent = n;
    notes.append(p);
  });

  // ----- open at a readable zoom, centred on the output -----
  function nodeCentre(g) {
    const b = g.getBBox();
    const m = svg.getScreenCTM().inverse().multiply(g.getScreenCTM());
    const p = svg.createSVGPoint();
    p.x = b.x + b.width / 2;
    p.y = b.y + b.height / 2;
    return p.matrixTransform(m);
  }
  function clamp(v, lo, hi) { return hi < lo ? (lo + hi) / 2 : Math.min(Math.max(v, lo), hi); }
  function lookAt(g, scale) {
    // centre on g at ``scale`` px per pt, without showing more blank page than needed
    const r = svg.getBoundingClientRect();
    const c = nodeCentre(g);
    const w = Math.min(home.w, r.width / scale), h = Math.min(home.h, r.height / scale);
    const aspect = r.width / r.height;
    box.w = Math.max(w, h * aspect);
    box.h = box.w / aspect;
    box.x = clamp(c.x - box.w / 2, home.x, home.x + home.w - box.w);
    box.y = clamp(c.y - box.h / 2, home.y, home.y + home.h - box.h);
    apply();
  }
  const outputs = Object.keys(data).filter((k) => data[k].kind === "output" && byTitle[k]);
  const r0 = svg.getBoundingClientRect();
  if (outputs.length && Math.min(r0.width / home.w, r0.height / home.h) < 1) {
    lookAt(byTitle[outputs[0]], 1.2);  // 1 pt of the drawing = 1.2 px: 11 pt labels read at 13 px
  }

  // ----- the backward pass, step by step -----
  const steps = page.steps || [];
  let at = -1, timer = null;
  const stepper = document.getElementById("stepper");
  function clearStep() {
    svg.querySelectorAll(".step-node, .step-op, .step-to").forEach((n) =>
      n.classList.remove("step-node", "step-op", "step-to"));
  }
  function addSection(body, title, text, id, cls) {
    const h = document.createElement("h3");
    h.textContent = title;
    if (cls) h.className = cls;
    const pre = document.createElement("pre");
    pre.textContent = text;
    if (id) pre.id = id;
    body.append(h, pre);
  }
  function showStep(k) {
    clearStep();
    at = k;
    const s = steps[k];
    document.getElementById("step-info").textContent = "step " + (k + 1) + " of " + steps.length;
    const node = byTitle[s.node], op = byTitle[s.op];
    if (node) node.classList.add("step-node");
    if (op) op.classList.add("step-op");
    s.sent.forEach((x) => { if (byTitle[x.to]) byTitle[x.to].classList.add("step-to"); });
    const d = data[s.node];
    document.getElementById("node-title").textContent = "backward of " + data[s.op].title;
    document.getElementById("node-meta").textContent = "step " + (k + 1) + " of " +
      steps.length + " · the engine's order · output " + d.title;
    const body = document.getElementById("node-body");
    body.replaceChildren();
    addSection(body, "gradient arrived at " + d.title, s.arrived, "step-arrived", "grad");
    const h = document.createElement("h3");
    h.textContent = "rule applied";
    const rule = document.createElement("div");
    rule.className = "rule";
    rule.id = "step-rule";
    rule.textContent = s.rule || "(its code states no rule)";
    body.append(h, rule);
    s.sent.forEach((x, i) => {
      const to = data[x.to].title;
      addSection(body, "sent to " + to, x.grad, "step-sent-" + i, "grad");
      addSection(body, (x.leaf ? to + ".grad" : "gradient of " + to) + " so far", x.total,
                 "step-total-" + i);
    });
    if (node) {
      const rr = svg.getBoundingClientRect();
      lookAt(node, Math.max(1.0, rr.width / box.w));
    }
  }
  if (steps.length) {
    stepper.hidden = false;
    document.getElementById("step-info").textContent = steps.length + " steps";
    document.getElementById("step-next").onclick = () =>
      showStep(Math.min(at + 1, steps.length - 1));
    document.getElementById("step-prev").onclick = () => showStep(Math.max(at - 1, 0));
    document.getElementById("step-play").onclick = () => {
      if (timer) { clearInterval(timer); timer = null; return; }
      timer = setInterval(() => {
        if (at + 1 >= steps.length) { clearInterval(timer); timer = null; return; }
        showStep(at + 1);
      }, 1200);
    };
  }
})();
</script>
</body>
</html>
"""


FOLD_AT = 1500  # nodes: a larger graph opens with its modules folded


def page(svg: str, node_data: dict[str, dict[str, Any]], title: str | None = None, *,
         clusters: dict[str, dict[str, Any]] | None = None,
         steps: list[dict[str, Any]] | None = None, notes: list[str] | None = None) -> str:
    """The html page around ``svg`` (Graphviz's output) with ``node_data``, the module
    ``clusters``, the backward ``steps`` and the ``notes`` as JSON."""
    start = svg.find("<svg")
    if start < 0:
        raise ValueError("svg does not contain an <svg> element")
    svg = re.sub(r"<!--.*?-->", "", svg[start:], flags=re.S)
    clusters = clusters or {}
    payload = json.dumps({"nodes": node_data, "clusters": clusters, "steps": steps or [],
                          "notes": notes or [],
                          "fold": len(node_data) > FOLD_AT and bool(clusters)},
                         ensure_ascii=False).replace("</", "<\\/")
    text = html.escape(title or "tinygrad_ce graph")
    head, rest = _PAGE.split("__SVG__")
    mid, tail = rest.split("__DATA__")
    return head.replace("__TITLE__", text) + svg + mid.replace("__TITLE__", text) + payload + tail
