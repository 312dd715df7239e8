// Shared helpers of the dashboard and the wallet page (no framework, no network but our API).
"use strict";
const LL_INT = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const LL = {
  // A write (POST, PUT, PATCH, DELETE) asks the API to wait for its chain transaction
  // (Prefer: wait=10); answered 202 Accepted (still queued), it polls /operations/{id} until the
  // operation is mined (the answer gets its tx hash and block) or failed (thrown, with its reason).
  async api(path, { key, token, method = "GET", body, headers: extra } = {}) {
    const headers = { Accept: "application/json", ...(extra || {}) };
    if (key) headers["X-API-Key"] = key;
    if (token) headers["Authorization"] = "Bearer " + token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET" && !headers["Prefer"]) headers["Prefer"] = "wait=10";
    const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return this.answer(r, { key, token });
  },
  // A response of the API as its JSON (thrown with the API's detail when not ok; a 202's
  // operation waited for).
  async answer(r, { key, token } = {}) {
    const text = await r.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (_) { data = { detail: text }; }
    if (!r.ok) {
      const err = new Error((data && (data.detail || data.error)) || r.statusText);
      err.status = r.status; err.data = data; throw err;
    }
    if (r.status === 202 && data && data.operation) return this.settled(data, { key, token });
    return data;
  },
  // A response of lines of JSON (NDJSON): `each(value)` as every line comes.
  async lines(r, each) {
    const reader = r.body.getReader(), text = new TextDecoder();
    let buf = "";
    for (;;) {
      const { done, value } = await reader.read();
      buf += text.decode(value, { stream: !done });
      let end;
      while ((end = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, end);
        buf = buf.slice(end + 1);
        if (line.trim()) each(JSON.parse(line));
      }
      if (done) break;
    }
    if (buf.trim()) each(JSON.parse(buf));
  },
  async settled(data, { key, token }) {
    const deadline = Date.now() + 120000;
    for (;;) {
      const op = await this.api(`/operations/${data.operation.id}`, { key, token });
      if (op.state === "mined") return { ...data, status: "confirmed", tx_hash: op.tx_hash, block_number: op.block_number, operation: op };
      if (op.state === "failed") {
        const err = new Error(op.error || op.error_code || "the operation failed");
        err.status = 409; err.data = op; throw err;
      }
      if (Date.now() > deadline) throw new Error(`still ${op.state}: see /operations/${op.id}`);
      await new Promise((ok) => setTimeout(ok, 500));
    }
  },
  // Integers (money in minor units, points) with thousands separators; null shows as a dash.
  // (one formatter for every number: toLocaleString with options makes one per call)
  int(v) { return v === null || v === undefined ? "–" : LL_INT.format(Number(v)); },
  pct(v) { return v === null || v === undefined ? "–" : (100 * v).toFixed(1) + "%"; },
  num(v, d = 2) { return v === null || v === undefined ? "–" : Number(v).toFixed(d); },
  short(a) { return a ? a.slice(0, 6) + "…" + a.slice(-4) : ""; },
  date(ts) { return ts ? new Date(ts * 1000).toISOString().slice(0, 10) : "never"; },
  // An ISO 8601 UTC time from the API as "2025-06-01 09:30" (UTC); unknown shows as a dash.
  when(iso) { return iso ? iso.slice(0, 16).replace("T", " ") : "–"; },
  el(tag, attrs = {}, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "text") e.textContent = v; else if (k === "class") e.className = v; else e.setAttribute(k, v);
    }
    for (const k of kids) e.append(k);
    return e;
  },
  hashParams() { return new URLSearchParams(location.hash.replace(/^#/, "")); },
};
