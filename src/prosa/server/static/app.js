// prosa's web page: a chat over the gateway's own OpenAI-compatible API (streamed with fetch and a
// ReadableStream), and a cache dashboard drawn as inline SVG. No framework, no CDN: works offline.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const SAVED = ["model", "system", "temperature", "max-tokens", "key"];
const state = { history: [], controller: null };

// -- settings kept between visits ------------------------------------------------------------------
for (const id of SAVED) {
  const saved = localStorage.getItem("prosa." + id);
  if (saved !== null) $(id).value = saved;
  $(id).addEventListener("change", () => localStorage.setItem("prosa." + id, $(id).value));
}
const showTemperature = () => ($("temperature-value").textContent = $("temperature").value);
$("temperature").addEventListener("input", showTemperature);
showTemperature();
$("key").addEventListener("change", () => { loadModels(); loadPersonas(); loadStats(); });
$("persona").addEventListener("change", applyPersona);

// On a phone the settings fold into one line that says what is in force; a tap opens them.
function summariseSettings() {
  const open = $("settings").classList.contains("open");
  const model = $("model").value.trim() || "default model";
  $("settings-toggle").textContent = open ? "Hide settings" :
    `Settings: ${model} · temperature ${$("temperature").value} · ${$("max-tokens").value} tokens`;
  $("settings-toggle").setAttribute("aria-expanded", open);
}
$("settings-toggle").addEventListener("click", () => {
  $("settings").classList.toggle("open");
  summariseSettings();
});
for (const id of ["model", "temperature", "max-tokens"]) $(id).addEventListener("change", summariseSettings);
summariseSettings();

function headers() {
  const h = { "Content-Type": "application/json" };
  const key = $("key").value.trim();
  if (key) h.Authorization = "Bearer " + key;
  return h;
}

async function errorText(response) {
  try { return (await response.json()).error.message; } catch { return `HTTP ${response.status}`; }
}

// -- tabs and health -------------------------------------------------------------------------------
for (const tab of document.querySelectorAll(".tab")) {
  tab.addEventListener("click", () => {
    for (const t of document.querySelectorAll(".tab")) {
      const on = t === tab;
      t.classList.toggle("active", on);
      t.setAttribute("aria-selected", on);
      $("panel-" + t.dataset.panel).classList.toggle("active", on);
    }
    if (tab.dataset.panel === "cache") loadStats();
  });
}

async function checkHealth() {
  const el = $("health");
  try {
    const r = await fetch("/healthz");
    const h = await r.json();
    el.textContent = `gateway ${h.version}`;
    el.className = "health ok";
    state.keysRequired = Boolean(h.keys_required);
    if (state.keysRequired) $("key").placeholder = "required: this gateway needs an access key";
    if (state.keysRequired && !$("key").value.trim()) showNotice(KEY_NEEDED);
  } catch {
    el.textContent = "gateway unreachable";
    el.className = "health down";
  }
}

// -- models ----------------------------------------------------------------------------------------
// The picker suggests the gateway's models (/v1/models) and accepts any other name the upstream knows.
async function loadModels() {
  const input = $("model");
  const r = await fetch("/v1/models", { headers: headers() }).catch(() => null);
  if (!r || !r.ok) {
    input.placeholder = r && r.status === 401 ? "enter the access key first" : "type a model name";
    return;
  }
  const names = (await r.json()).data.map((m) => m.id);
  $("model-list").replaceChildren(...names.map((name) => new Option(name, name)));
  input.value = localStorage.getItem("prosa.model") || input.value || names[0] || "";
}

// -- personas --------------------------------------------------------------------------------------
// A persona (prosa personas) fills in the system prompt and its defaults; every field stays editable.
let personas = [];
async function loadPersonas() {
  const r = await fetch("/prosa/personas", { headers: headers() }).catch(() => null);
  if (!r || !r.ok) return;
  personas = (await r.json()).data;
  const options = personas.map((p) => new Option(p.description ? `${p.name} — ${p.description}` : p.name, p.name));
  $("persona").append(...options);
}

function applyPersona() {
  const p = personas.find((x) => x.name === $("persona").value);
  if (!p) return;
  $("system").value = p.system;
  if (p.temperature !== null) {
    $("temperature").value = p.temperature;
    $("temperature").dispatchEvent(new Event("input"));
  }
  if (p.max_tokens !== null) $("max-tokens").value = p.max_tokens;
  if (p.model) $("model").value = p.model;
  for (const id of ["system", "temperature", "max-tokens", "model"]) $(id).dispatchEvent(new Event("change"));
}

// -- chat ------------------------------------------------------------------------------------------
function addBubble(kind, text) {
  $("empty")?.remove();
  const el = document.createElement("div");
  el.className = "msg " + kind;
  const body = document.createElement("div");
  body.className = "text";
  body.textContent = text;
  el.append(body);
  $("messages").append(el);
  el.scrollIntoView({ block: "end" });
  return el;
}

function addMeta(el, info) {
  const meta = document.createElement("div");
  meta.className = "meta";
  const labels = { hit: "cached", miss: "fresh", bypass: "not cached" };
  const badge = document.createElement("span");
  badge.className = "badge " + info.cache;
  badge.textContent = labels[info.cache] || info.cache;
  el.dataset.cache = info.cache;
  const parts = [badge];
  if (info.usage) parts.push(`${info.usage.prompt_tokens} + ${info.usage.completion_tokens} tokens`);
  if (info.ttft !== null) parts.push(`first token ${Math.round(info.ttft)} ms`);
  parts.push(`${Math.round(info.total)} ms`);
  if (info.finish && info.finish !== "stop") parts.push(`finish: ${info.finish}`);
  if (info.stopped) parts.push("stopped: not cached");
  for (const part of parts) {
    const span = typeof part === "string" ? document.createElement("span") : part;
    if (typeof part === "string") span.textContent = part;
    meta.append(span);
  }
  el.append(meta);
}

function setBusy(busy) {
  const button = $("send");
  button.textContent = busy ? "Stop" : "Send";
  button.classList.toggle("stop", busy);
}

// Reads an SSE body chunk by chunk; calls onEvent with each JSON event until [DONE].
async function readEvents(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      for (const line of block.split("\n")) {
        if (!line.startsWith("data: ")) continue;
        if (line === "data: [DONE]") { reader.cancel(); return; }
        onEvent(JSON.parse(line.slice(6)));
      }
    }
  }
}

// Said, not silently ignored: a Send that cannot go out tells why (no key yet, no model chosen).
const KEY_NEEDED = "This gateway needs an access key: type it in the Access key field, then send.";
function showNotice(text) {
  const last = document.querySelector("#messages .msg.error:last-child");
  if (!last || last.textContent !== text) addBubble("error", text);
}

async function send() {
  const question = $("prompt").value.trim();
  const model = $("model").value.trim();
  if (!question) return;
  if (state.keysRequired && !$("key").value.trim()) return showNotice(KEY_NEEDED);
  if (!model) return showNotice("Choose a model first (the Model field).");
  $("prompt").value = "";
  addBubble("user", question);
  const messages = [];
  const system = $("system").value.trim();
  if (system) messages.push({ role: "system", content: system });
  messages.push(...state.history, { role: "user", content: question });
  const body = { model, messages, stream: true, stream_options: { include_usage: true },
                 temperature: Number($("temperature").value) };
  const maxTokens = parseInt($("max-tokens").value, 10);
  if (maxTokens > 0) body.max_tokens = maxTokens;

  const bubble = addBubble("assistant streaming", "");
  const text = bubble.querySelector(".text");
  const info = { cache: "?", usage: null, ttft: null, total: 0, finish: null, stopped: false };
  const start = performance.now();
  let answer = "";
  state.controller = new AbortController();
  setBusy(true);
  try {
    const r = await fetch("/v1/chat/completions", {
      method: "POST", headers: headers(), body: JSON.stringify(body), signal: state.controller.signal,
    });
    if (!r.ok) throw new Error(await errorText(r));
    info.cache = r.headers.get("x-prosa-cache") || "?";
    await readEvents(r, (event) => {
      if (event.error) throw new Error(event.error.message);
      if (event.usage) info.usage = event.usage;
      const choice = event.choices && event.choices[0];
      if (!choice) return;
      const piece = choice.delta && choice.delta.content;
      if (piece) {
        if (info.ttft === null) info.ttft = performance.now() - start;
        answer += piece;
        text.textContent = answer;
        bubble.scrollIntoView({ block: "end" });
      }
      if (choice.finish_reason) info.finish = choice.finish_reason;
    });
    state.history.push({ role: "user", content: question }, { role: "assistant", content: answer });
  } catch (e) {
    if (e.name === "AbortError") {
      info.stopped = true;  // a cut answer is not kept in the conversation (nor cached by the gateway)
    } else {
      bubble.remove();
      addBubble("error", e.message);
      return;
    }
  } finally {
    state.controller = null;
    setBusy(false);
    bubble.classList.remove("streaming");
  }
  info.total = performance.now() - start;
  addMeta(bubble, info);
}

$("composer").addEventListener("submit", (e) => {
  e.preventDefault();
  if (state.controller) state.controller.abort();
  else send();
});
$("prompt").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("composer").requestSubmit(); }
});
$("new-chat").addEventListener("click", () => {
  if (state.controller) state.controller.abort();
  state.history = [];
  $("messages").innerHTML = '<p id="empty" class="empty">New conversation. Ask anything.</p>';
  $("prompt").focus();
});

// -- cache dashboard -------------------------------------------------------------------------------
const fmt = new Intl.NumberFormat();
const dollars = (x) => "$" + (x < 1 ? x.toFixed(4) : x.toFixed(2));
const size = (b) => (b >= 1048576 ? (b / 1048576).toFixed(1) + " MB" : (b / 1024).toFixed(1) + " KB");
const clock = (t) => new Date(t * 1000).toLocaleTimeString();

async function loadStats() {
  if (!$("panel-cache").classList.contains("active")) return;
  const picked = $("tenant-filter")?.value;
  const url = picked ? "/prosa/stats?tenant=" + encodeURIComponent(picked) : "/prosa/stats";
  const r = await fetch(url, { headers: headers() }).catch(() => null);
  if (!r || !r.ok) {
    $("cache-note").textContent = r ? await errorText(r) : "the gateway is unreachable";
    return;
  }
  const s = await r.json();
  tenantFilter(s.tenants || [], picked);
  const c = s.cache || s.gateway;
  const looked = c.hits + c.misses;
  const cards = [
    ["Hit rate", looked ? (100 * c.hits / looked).toFixed(1) + " %" : "–"],
    ["Hits", fmt.format(c.hits)], ["Misses", fmt.format(c.misses)],
    ["Tokens saved", fmt.format(c.tokens_saved)],
  ];
  // Money only once there is some: the local model costs nothing, and "$0.0000 saved" says nothing.
  if (c.usd_saved > 0) cards.push(["Money saved", dollars(c.usd_saved)]);
  if (s.cache && s.cache.entries !== undefined) {
    cards.push(["Entries", fmt.format(s.cache.entries)], ["Size", size(s.cache.bytes || 0)]);
  }
  $("cards").replaceChildren(...cards.map(([label, value]) => {
    const card = document.createElement("div");
    card.className = "card";
    card.innerHTML = '<div class="label"></div><div class="value"></div>';
    card.firstChild.textContent = label;
    card.lastChild.textContent = value;
    card.dataset.stat = label;
    return card;
  }));
  drawRate($("chart-rate"), s.series);
  drawSaved($("chart-saved"), s.series);
  $("cache-note").textContent = s.tenant
    ? `Tenant ${s.tenant}: the counters of its own cache, in every prosa process that uses the store.`
    : !s.cache
      ? "The cache is off: these are this gateway process's own counters."
      : s.cache.url === "memory"
        ? `Cache in this gateway process's memory: its answers and counters are this process's own and start ` +
          `again when it restarts. Sampled every ${s.interval_s} s.`
        : `Cache ${s.cache.url}: counters include every prosa process that uses it. Sampled every ${s.interval_s} s.`;
}

// With access keys, an admin key can look at one tenant at a time (a tenant's key sees only its own).
function tenantFilter(names, picked) {
  let select = $("tenant-filter");
  if (names.length < 2 && !picked) { select?.remove(); return; }
  if (!select) {
    select = document.createElement("select");
    select.id = "tenant-filter";
    select.setAttribute("aria-label", "tenant");
    select.addEventListener("change", loadStats);
    $("cards").before(select);
  }
  const wanted = ["", ...names];
  if (select.options.length !== wanted.length) {
    select.replaceChildren(...wanted.map((n) => new Option(n || "all tenants", n)));
    select.value = picked || "";
  }
}

function el(name, attrs, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

// A frame for a time chart: sets the viewBox to the pixel size, returns scales and the plot box.
function frame(svg, series, yMax, yLabel, rightLabel) {
  const w = Math.max(svg.clientWidth, 300), h = 220, m = { l: 56, r: rightLabel ? 56 : 14, t: 12, b: 24 };
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.replaceChildren();
  const t0 = series[0].t, t1 = Math.max(series[series.length - 1].t, t0 + 1);
  const x = (t) => m.l + (w - m.l - m.r) * (t - t0) / (t1 - t0);
  const y = (v) => h - m.b - (h - m.t - m.b) * v / yMax;
  for (const f of [0, 0.5, 1]) {
    svg.append(el("line", { class: "grid", x1: m.l, x2: w - m.r, y1: y(yMax * f), y2: y(yMax * f) }));
    svg.append(el("text", { x: m.l - 6, y: y(yMax * f) + 4, "text-anchor": "end" }, yLabel(yMax * f)));
    if (rightLabel) svg.append(el("text", { class: "right-axis", x: w - m.r + 6, y: y(yMax * f) + 4 }, rightLabel(f)));
  }
  svg.append(el("text", { x: m.l, y: h - 6 }, clock(t0)));
  svg.append(el("text", { x: w - m.r, y: h - 6, "text-anchor": "end" }, clock(t1)));
  return { x, y, w, h, m };
}

function notEnough(svg, series) {
  if (series.length >= 2) return false;
  svg.replaceChildren(el("text", { x: 20, y: 110 }, "Collecting data…"));
  return true;
}

// Bars: hits and misses per interval; line: the hit rate so far.
function drawRate(svg, series) {
  if (notEnough(svg, series)) return;
  let most = 1;
  for (let i = 1; i < series.length; i++) {
    most = Math.max(most, series[i].hits - series[i - 1].hits + series[i].misses - series[i - 1].misses);
  }
  // Bars are counts, not a share: they get their own axis, on the right, in requests per interval.
  most = niceCeil(most);
  const f = frame(svg, series, 1, (v) => Math.round(v * 100) + " %", (frac) => fmt.format(Math.round(most * frac)));
  for (let i = 1; i < series.length; i++) {
    const hits = Math.max(0, series[i].hits - series[i - 1].hits);
    const misses = Math.max(0, series[i].misses - series[i - 1].misses);
    const x0 = f.x(series[i - 1].t) + 1, width = Math.max(1, f.x(series[i].t) - x0 - 1);
    const hh = (f.y(0) - f.y(1)) * hits / most, mh = (f.y(0) - f.y(1)) * misses / most;
    svg.append(el("rect", { class: "bar-miss", x: x0, width, y: f.y(0) - mh, height: mh }));
    svg.append(el("rect", { class: "bar-hit", x: x0, width, y: f.y(0) - mh - hh, height: hh }));
  }
  const points = series.filter((p) => p.hits + p.misses > 0)
    .map((p) => `${f.x(p.t).toFixed(1)},${f.y(p.hits / (p.hits + p.misses)).toFixed(1)}`);
  if (points.length) svg.append(el("polyline", { class: "rate", points: points.join(" ") }));
  svg.append(el("text", { x: f.w - f.m.r, y: 14, "text-anchor": "end" },
                "line: hit rate so far (left axis) · bars: hits (green) and misses (orange) per interval (right axis)"));
}

// The next 1, 2 or 5 times a power of ten: an axis that ends on a round number of requests.
function niceCeil(n) {
  const p = Math.pow(10, Math.floor(Math.log10(n)));
  return [1, 2, 5, 10].map((k) => k * p).find((v) => v >= n);
}

// Area: tokens saved so far; the label gives the money saved.
function drawSaved(svg, series) {
  if (notEnough(svg, series)) return;
  const top = Math.max(10, ...series.map((p) => p.tokens_saved));
  const f = frame(svg, series, top * 1.1, (v) => fmt.format(Math.round(v)));
  const line = series.map((p) => `${f.x(p.t).toFixed(1)},${f.y(p.tokens_saved).toFixed(1)}`);
  const last = series[series.length - 1];
  svg.append(el("polygon", { class: "area",
    points: `${f.x(series[0].t)},${f.y(0)} ${line.join(" ")} ${f.x(last.t)},${f.y(0)}` }));
  svg.append(el("polyline", { class: "tokens", points: line.join(" ") }));
  svg.append(el("text", { x: f.w - f.m.r, y: 14, "text-anchor": "end" },
                `${fmt.format(last.tokens_saved)} tokens` + (last.usd_saved > 0 ? ` · ${dollars(last.usd_saved)} saved` : " saved")));
}

setInterval(() => { if (!document.hidden) loadStats(); }, 3000);
window.addEventListener("resize", () => loadStats());
checkHealth();
loadModels();
loadPersonas();
