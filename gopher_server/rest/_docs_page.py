"""The /api/docs page: one self-contained HTML file (no CDN, works behind a firewall).

It loads `openapi.json` from beside itself, lists every operation by service, shows its
parameters and body and answer schemas, and can send a request ("Try it").
"""

DOCS_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Gopher REST API</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem;color:#222}
h1{margin:.2rem 0}h2{border-bottom:1px solid #ddd;margin-top:2rem}
pre,code,textarea,input{font:13px ui-monospace,monospace}
pre{background:#f6f6f6;padding:.6rem;overflow:auto;white-space:pre-wrap}
details{border:1px solid #ddd;border-radius:4px;margin:.4rem 0}
summary{cursor:pointer;padding:.4rem .6rem}
details>div{padding:0 .8rem .8rem}
.m{display:inline-block;min-width:4.2rem;text-align:center;border-radius:3px;color:#fff;
font-weight:600;margin-right:.5rem}
.GET{background:#2b7de9}.POST{background:#2a9d55}.PUT{background:#c7851f}
.DELETE{background:#d0423b}.PATCH{background:#7b55c7}
table{border-collapse:collapse}
td,th{border-bottom:1px solid #eee;padding:.2rem .6rem;text-align:left}
textarea{width:100%;min-height:6rem}input{min-width:16rem}
.muted{color:#777}
</style></head>
<body>
<h1 id="title">Gopher REST API</h1>
<div id="intro" class="muted">Loading openapi.json&hellip;</div>
<p><label>Authorization header (optional): <input id="auth" placeholder="Bearer TOKEN"></label></p>
<div id="ops"></div>
<script>
"use strict";
let spec = null;
function el(tag, attrs, ...kids) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const kid of kids) node.append(kid instanceof Node ? kid : String(kid));
  return node;
}
function deref(schema) {
  if (schema && schema.$ref) return spec.components.schemas[schema.$ref.split("/").pop()];
  return schema || {};
}
function typeOf(schema) {
  const s = deref(schema);
  if (s.enum) return s.enum.map(v => JSON.stringify(v)).join(" | ");
  if (s.type === "array") return typeOf(s.items) + "[]";
  if (schema && schema.$ref) return s.title || "object";
  if (s.format) return (s.type || "any") + " (" + s.format + ")";
  return Array.isArray(s.type) ? s.type.join(" | ") : (s.type || "any JSON");
}
function outline(schema, depth, seen) {
  const s = deref(schema);
  const item = s.type === "array" ? deref(s.items) : s;
  if (!item.properties || depth > 3) return "";
  const pad = "  ".repeat(depth);
  let text = "";
  for (const [name, prop] of Object.entries(item.properties)) {
    text += pad + name + ": " + typeOf(prop) + "\\n";
    const ref = (prop.$ref || (prop.items && prop.items.$ref) || "");
    if (ref && !seen.includes(ref)) text += outline(prop, depth + 1, seen.concat([ref]));
  }
  return text;
}
function skeleton(schema, depth) {
  const s = deref(schema);
  if (s.enum) return s.enum[0];
  if (s.type === "array") return [];
  if (s.properties && depth < 3) {
    const out = {};
    for (const [k, v] of Object.entries(s.properties)) {
      const d = deref(v);
      if (d.format !== "date-time") out[k] = skeleton(v, depth + 1);
    }
    return out;
  }
  const t = Array.isArray(s.type) ? s.type[0] : s.type;
  return {string: "", integer: 0, number: 0, boolean: false, object: {}}[t] ?? null;
}
async function send(method, path, op, form, out) {
  let url = path;
  const query = new URLSearchParams();
  for (const p of op.parameters || []) {
    const value = form.querySelector("[name='" + p.in + ":" + p.name + "']").value;
    if (p.in === "path") url = url.replace("{" + p.name + "}", encodeURIComponent(value));
    else if (value !== "") query.append(p.name, value);
  }
  const qs = query.toString();
  const headers = {};
  const auth = document.getElementById("auth").value;
  if (auth) headers["Authorization"] = auth;
  const init = {method, headers};
  if (op.requestBody) {
    headers["Content-Type"] = "application/json";
    init.body = form.querySelector("textarea").value;
  }
  out.textContent = method + " " + url + (qs ? "?" + qs : "") + "\\n\\u2026";
  try {
    const res = await fetch(url + (qs ? "?" + qs : ""), init);
    const text = await res.text();
    let shown = text;
    try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (e) {}
    out.textContent = res.status + " " + res.statusText + "\\n" + shown;
  } catch (e) { out.textContent = String(e); }
}
function operation(method, path, op) {
  const M = method.toUpperCase();
  const body = el("div");
  body.append(el("p", {}, op.description || ""));
  const form = el("form");
  if ((op.parameters || []).length) {
    const table = el("table", {}, el("tr", {}, el("th", {}, "parameter"), el("th", {}, "in"),
      el("th", {}, "type"), el("th", {}, "value")));
    for (const p of op.parameters) {
      const hint = p.required ? "required" : "";
      const input = el("input", {name: p.in + ":" + p.name, placeholder: hint});
      table.append(el("tr", {}, el("td", {}, el("code", {}, p.name)), el("td", {}, p.in),
        el("td", {}, typeOf(p.schema)), el("td", {}, input)));
    }
    form.append(table);
  }
  if (op.requestBody) {
    const schema = op.requestBody.content["application/json"].schema;
    const area = el("textarea", {}, "{}");
    const fill = el("a", {href: "#"}, "fill a skeleton");
    fill.onclick = e => {
      e.preventDefault();
      area.value = JSON.stringify(skeleton(schema, 0), null, 2);
    };
    form.append(el("h4", {}, "Body (JSON) \\u2014 ", fill),
      el("pre", {}, outline(schema, 0, [schema.$ref])), area);
  }
  const ok = Object.entries(op.responses).find(([code]) => code.startsWith("2"));
  if (ok) {
    const schema = ok[1].content["application/json"].schema;
    form.append(el("h4", {}, "Answer " + ok[0]),
      el("pre", {}, outline(schema, 0, [schema.$ref]) || typeOf(schema)));
  }
  const out = el("pre", {class: "muted"}, "");
  const button = el("button", {type: "submit"}, "Try it");
  form.append(button, out);
  form.onsubmit = e => { e.preventDefault(); send(M, path, op, form, out); };
  body.append(form);
  const link = el("a", {href: "#" + op.operationId, class: "muted"}, "#");
  return el("details", {id: op.operationId}, el("summary", {}, el("span", {class: "m " + M}, M),
    el("code", {}, path), " ", el("span", {class: "muted"}, op.summary || ""), " ", link), body);
}
fetch("openapi.json").then(r => r.json()).then(doc => {
  spec = doc;
  document.getElementById("title").textContent = doc.info.title + " " + doc.info.version;
  document.getElementById("intro").replaceChildren(el("pre", {}, doc.info.description || ""));
  const groups = {};
  for (const [path, item] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(item))
      (groups[(op.tags || ["other"])[0]] ||= []).push(operation(method, path, op));
  const root = document.getElementById("ops");
  for (const [tag, nodes] of Object.entries(groups)) root.append(el("h2", {}, tag), ...nodes);
  const linked = location.hash && document.getElementById(location.hash.slice(1));
  if (linked) { linked.open = true; linked.scrollIntoView(); }  // deep link to one operation
}).catch(e => {
  document.getElementById("intro").textContent = "Could not load openapi.json: " + e;
});
</script>
</body></html>
"""
