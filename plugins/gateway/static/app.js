// keel dashboard: plain JS, no build step. Reads the gateway's HTTP API and its
// server-sent event stream (/events) with the bearer token the operator pasted.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  token: sessionStorage.getItem("keel.token") || "",
  role: "", sub: "", account: null,
  positions: {}, portfolio: {}, equity: {}, orders: new Map(), fills: [], regimes: {},
  trading: null, chart: null, stream: null,
};

function api(path, opts = {}) {
  const headers = Object.assign({ Authorization: `Bearer ${state.token}` }, opts.headers || {});
  if (opts.body) headers["Content-Type"] = "application/json";
  return fetch(path, Object.assign({}, opts, { headers }));
}

function text(el, value) { el.textContent = value == null ? "" : String(value); }
function cell(tr, value, cls) {
  const td = document.createElement("td");
  text(td, value);
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}
function fmt(x, digits = 2) {
  const n = Number(x);
  return Number.isFinite(n) ? n.toLocaleString(undefined, { maximumFractionDigits: digits }) : x;
}

// -- sign in ------------------------------------------------------------------
async function signIn(token) {
  state.token = token.trim();
  const r = await api("/whoami");
  if (!r.ok) {
    const body = await r.json().catch(() => ({}));
    throw new Error(body.detail || `HTTP ${r.status}`);
  }
  const me = await r.json();
  state.sub = me.sub; state.role = me.role;
  sessionStorage.setItem("keel.token", state.token);
  text($("who"), `${me.sub} (${me.role})`);
  $("logout").hidden = false;
  $("login").hidden = true;
  $("main").hidden = false;
  // The halt and resume controls exist only for admins (the API refuses others too).
  const admin = me.role === "admin";
  $("admin-controls").hidden = !admin;
  if (!admin) $("admin-controls").remove();
  startStream();
  pollHealth();
}

function showLogin(message) {
  $("login").hidden = false;
  $("main").hidden = true;
  text($("login-error"), message || "");
}

$("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  try { await signIn($("token").value); } catch (err) { showLogin(err.message); }
});
$("logout").addEventListener("click", () => {
  sessionStorage.removeItem("keel.token");
  location.reload();
});

// -- live stream (SSE over fetch, so the token travels in a header) -----------
async function startStream() {
  let delay = 500;
  for (;;) {
    try {
      const r = await api("/events", { headers: { Accept: "text/event-stream" } });
      if (r.status === 401 || r.status === 403) { showLogin("session expired"); return; }
      if (!r.ok || !r.body) throw new Error(`HTTP ${r.status}`);
      setConn(true);
      delay = 500;
      const reader = r.body.getReader();
      const decoder = new TextDecoder();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buf.indexOf("\n\n")) >= 0) {
          const chunk = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          dispatch(chunk);
        }
      }
    } catch (err) {
      console.warn("stream:", err);
    }
    setConn(false);
    await new Promise((res) => setTimeout(res, delay));
    delay = Math.min(delay * 2, 10000);
  }
}

function setConn(on) {
  const el = $("conn");
  text(el, on ? "live" : "reconnecting…");
  el.className = on ? "pill up" : "pill muted";
}

function dispatch(chunk) {
  let kind = "message", data = "";
  for (const line of chunk.split("\n")) {
    if (line.startsWith("event: ")) kind = line.slice(7);
    else if (line.startsWith("data: ")) data += line.slice(6);
  }
  if (!data) return;
  const msg = JSON.parse(data);
  const handlers = {
    snapshot: onSnapshot, positions: onPositions, equity: onEquity, order: onOrder,
    fill: onFill, trading_state: onTrading, regime: onRegime,
  };
  if (handlers[kind]) handlers[kind](msg);
}

function onSnapshot(s) {
  state.positions = s.positions || {};
  state.portfolio = s.portfolio || {};
  state.equity = {};
  for (const [acct, pts] of Object.entries(s.equity || {})) {
    state.equity[acct] = pts.map(([ts, eq]) => [ts / 1e9, Number(eq)]);
  }
  state.orders = new Map((s.orders || []).map((o) => [o.client_order_id, o]));
  state.fills = s.fills || [];
  state.regimes = s.regimes || {};
  if (s.trading_state) onTrading(s.trading_state);
  renderAll();
}
function onPositions(p) {
  state.positions[p.account] = p.positions;
  state.portfolio[p.account] = p.summary;
  if (!state.account) state.account = p.account;
  renderPositions();
}
function onEquity(e) {
  const pts = state.equity[e.account] || (state.equity[e.account] = []);
  const t = e.ts / 1e9, v = Number(e.equity);
  if (pts.length && pts[pts.length - 1][0] === t) pts[pts.length - 1][1] = v;
  else pts.push([t, v]);
  if (pts.length > 2000) pts.shift();
  renderEquity();
}
function onOrder(o) {
  state.orders.delete(o.client_order_id);
  state.orders.set(o.client_order_id, o);
  while (state.orders.size > 100) state.orders.delete(state.orders.keys().next().value);
  renderOrders();
}
function onFill(f) {
  state.fills.push(f);
  if (state.fills.length > 100) state.fills.shift();
  renderFills();
}
function onRegime(r) { state.regimes[r.instrument] = r; renderRegimes(); }
function onTrading(t) {
  state.trading = t;
  const pill = $("trading");
  pill.dataset.state = t.state || "UNKNOWN";
  text(pill, `trading: ${t.state || "unknown"}`);
  text($("state-line"), t.state ? `${t.state}${t.reason ? " — " + t.reason : ""}` : "unknown");
  const halted = t.state === "HALTED";
  $("halted-banner").hidden = !halted;
  text($("halted-reason"), halted ? t.reason || "" : "");
}

// -- rendering ------------------------------------------------------------------
function account() {
  if (state.account && state.positions[state.account]) return state.account;
  const names = Object.keys(state.portfolio);
  return names.length ? names[0] : null;
}
function renderAll() {
  renderPositions(); renderEquity(); renderOrders(); renderFills(); renderRegimes();
}
function fillTable(id, rows, build) {
  const body = $(id).querySelector("tbody");
  body.replaceChildren();
  for (const row of rows) {
    const tr = document.createElement("tr");
    build(tr, row);
    body.appendChild(tr);
  }
  if (!rows.length) {
    const tr = document.createElement("tr");
    const td = cell(tr, "none yet", "muted");
    td.colSpan = $(id).querySelectorAll("th").length;
    body.appendChild(tr);
  }
}
function renderPositions() {
  const acct = account();
  const rows = acct ? state.positions[acct] || [] : [];
  fillTable("positions", rows, (tr, p) => {
    tr.dataset.instrument = p.instrument;
    cell(tr, p.instrument); cell(tr, fmt(p.qty, 8), "num"); cell(tr, fmt(p.avg_price, 6), "num");
    cell(tr, fmt(p.last_price, 6), "num"); cell(tr, fmt(p.unrealized_pnl), "num");
  });
  const s = acct ? state.portfolio[acct] : null;
  text($("equity-summary"), s ? `equity ${fmt(s.equity)} · cash ${fmt(s.cash)} · realized ` +
       `${fmt(s.realized_pnl)} · drawdown ${fmt(s.drawdown)}` : "");
}
function renderEquity() {
  const acct = account();
  text($("equity-account"), acct ? `(${acct})` : "");
  const pts = acct ? state.equity[acct] || [] : [];
  const data = [pts.map((p) => p[0]), pts.map((p) => p[1])];
  const el = $("equity-chart");
  const width = Math.max(260, el.clientWidth || 600);
  if (!state.chart) {
    state.chart = new uPlot({
      width, height: 220,
      series: [{}, { label: "equity", stroke: "#4da3ff", width: 2 }],
      axes: [{ stroke: "#8a96a3", grid: { stroke: "#2c3642" } },
             { stroke: "#8a96a3", grid: { stroke: "#2c3642" }, size: 70 }],
      legend: { show: false },
    }, data, el);
    window.addEventListener("resize", () =>
      state.chart.setSize({ width: Math.max(260, el.clientWidth), height: 220 }));
  } else {
    state.chart.setData(data);
  }
}
// "STOP_LIMIT 1.1 / 1.09 GTD": the type, its prices (trigger before limit), the time
// in force when not GTC, and the flags.
function orderType(o) {
  const parts = [o.order_type || "?"];
  const prices = [o.trigger_price, o.limit_price].filter((p) => p != null).map((p) => fmt(p, 8));
  if (o.trailing_offset != null) prices.unshift(`trail ${fmt(o.trailing_offset, 8)}`);
  if (prices.length) parts.push(prices.join(" / "));
  if (o.time_in_force && o.time_in_force !== "GTC") parts.push(o.time_in_force);
  if (o.reduce_only) parts.push("reduce-only");
  if (o.post_only) parts.push("post-only");
  if (o.parent_order_id) parts.push(`after ${o.parent_order_id}`);
  return parts.join(" ");
}
function renderOrders() {
  const rows = [...state.orders.values()].reverse().slice(0, 50);
  fillTable("orders", rows, (tr, o) => {
    tr.dataset.order = o.client_order_id;
    cell(tr, o.client_order_id); cell(tr, o.instrument); cell(tr, o.side);
    cell(tr, fmt(o.qty, 8), "num");
    cell(tr, orderType(o), "type");
    cell(tr, o.state + (o.code ? ` (${o.code})` : ""), `state-${o.state}`);
    cell(tr, o.operator || o.strategy || "");
  });
}
function renderFills() {
  const rows = [...state.fills].reverse().slice(0, 50);
  fillTable("fills", rows, (tr, f) => {
    cell(tr, f.client_order_id); cell(tr, f.instrument); cell(tr, f.side);
    cell(tr, fmt(f.qty, 8), "num"); cell(tr, fmt(f.price, 6), "num");
    cell(tr, fmt(f.leaves_qty, 8), "num");
  });
}
function renderRegimes() {
  const rows = Object.values(state.regimes).sort((a, b) => a.instrument.localeCompare(b.instrument));
  fillTable("regimes", rows, (tr, r) => {
    cell(tr, r.instrument); cell(tr, r.label || `#${r.regime}`);
    const p = (r.probabilities || [])[r.regime];
    cell(tr, p == null ? "" : fmt(p, 3), "num");
  });
}

// -- plugin health ------------------------------------------------------------------
async function pollHealth() {
  for (;;) {
    try {
      const r = await fetch("/health");
      const h = await r.json();
      const rows = Object.entries((h.components || {}).plugins || {});
      fillTable("plugins", rows, (tr, [name, p]) => {
        cell(tr, name); cell(tr, p.status, p.status === "up" ? "up" : "down");
        cell(tr, p.handled ?? "", "num"); cell(tr, p.lag ?? "–", "num");
        cell(tr, p.dead_lettered ?? "", "num");
        cell(tr, p.last_heartbeat_age_s == null ? "" : `${fmt(p.last_heartbeat_age_s, 1)} s ago`);
      });
      text($("health-line"), `overall: ${h.status} · bus ${h.components.bus.status} · ` +
           `database ${h.components.database.status}`);
      if (h.trading_state && !state.trading) onTrading({ state: h.trading_state });
    } catch (err) {
      text($("health-line"), `health unavailable: ${err.message}`);
    }
    await new Promise((res) => setTimeout(res, 2000));
  }
}

// -- halt / resume (admin) ----------------------------------------------------------------
let pending = null;
function askReason(what) {
  pending = what;
  $("control-form").hidden = false;
  text($("control-label"), what === "halt" ? "Reason for the EMERGENCY HALT" : "Reason to resume");
  $("control-confirm").className = what === "halt" ? "danger" : "";
  text($("control-confirm"), what === "halt" ? "Confirm halt" : "Confirm resume");
  $("control-reason").value = "";
  $("control-reason").focus();
}
if ($("halt-button")) {
  $("halt-button").addEventListener("click", () => askReason("halt"));
  $("resume-button").addEventListener("click", () => askReason("resume"));
  $("control-cancel").addEventListener("click", () => { $("control-form").hidden = true; });
  $("control-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const reason = $("control-reason").value.trim();
    if (!reason) return;
    const what = pending;
    $("control-form").hidden = true;
    text($("control-result"), `${what}: waiting for risk to confirm…`);
    const path = what === "halt" ? "/portfolio/emergency-halt" : "/portfolio/resume";
    const r = await api(path, { method: "POST", body: JSON.stringify({ reason }) });
    const body = await r.json().catch(() => ({}));
    $("control-result").className = r.ok ? "muted" : "error";
    if (r.ok) {
      text($("control-result"), `${what} confirmed by risk: ${body.state} (log seq ` +
           `${body.state_seq})${body.already ? " — it already was" : ""}`);
      onTrading({ state: body.state, reason: body.reason });
    } else {
      text($("control-result"), `${what} NOT confirmed: ${body.detail || r.status}`);
    }
  });
}

// -- start ------------------------------------------------------------------------------------
if (state.token) signIn(state.token).catch((err) => showLogin(err.message));
else showLogin();
