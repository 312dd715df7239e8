// The brand console: every action goes through the same API a script would use, with the key
// entered here. A key without the perk_manager role sees no edit controls (and the API refuses
// its changes anyway).
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const S = { brand: "", key: "", manage: false, programme: false, operator: false, segments: [], editing: null };
  const FIELDS = {
    tier: "number", balance: "number", expiring_points: "number", days_since_purchase: "number",
    rfm: "number", rfm_r: "number", rfm_f: "number", rfm_m: "number", churn_risk: "number",
    birthday_this_month: "bool", consent: "bool", channel: "text", region: "text",
  };
  const EXPORTS = ["members", "profiles", "orders", "redemptions", "perks", "notifications", "segments", "ledger",
    "rules", "campaigns", "earning_lines", "exchanges", "webhooks"];

  const api = (path, opts = {}) => LL.api(path, { key: S.key, ...opts });
  const b = () => `/brands/${encodeURIComponent(S.brand)}`;
  function status(text, bad = false) { $("status").textContent = text; $("status").className = bad ? "status error" : "status"; }
  function row(cells, head = false) { return LL.el("tr", {}, ...cells.map((c) => c instanceof Node ? LL.el(head ? "th" : "td", {}, c) : LL.el(head ? "th" : "td", { text: c ?? "–" }))); }
  function fill(id, headers, rows, empty = "nothing yet") {
    $(id).replaceChildren(row(headers, true), ...rows.map((r) => row(r)));
    if (!rows.length) $(id).append(LL.el("tr", {}, LL.el("td", { class: "muted", text: empty })));
    csvButton(id);
  }
  // Every table of the console has a CSV button: the table as shown (without its buttons).
  function csvButton(id) {
    const table = $(id), prev = table.previousElementSibling;
    if (prev && prev.dataset.csvFor === id) return;
    const btn = LL.el("button", { type: "button", class: "link csv", text: "CSV", "data-csv-for": id, title: "download this table as CSV" });
    btn.onclick = () => tableCsv(id);
    table.before(btn);
  }
  function tableCsv(id) {
    const rows = [...$(id).querySelectorAll("tr")].map((tr) => [...tr.children]);
    const keep = rows.length ? rows[0].map((c, i) => c.textContent.trim() !== "" ? i : -1).filter((i) => i >= 0) : [];
    const q = (v) => (/[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
    const text = rows.filter((r) => r.length >= keep.length)
      .map((r) => keep.map((i) => q((r[i] ? r[i].textContent : "").trim())).join(",")).join("\n") + "\n";
    const a = LL.el("a", { href: URL.createObjectURL(new Blob([text], { type: "text/csv" })), download: `${S.brand}-${id}.csv` });
    document.body.append(a); a.click(); a.remove();
    status(`${id}.csv downloaded`);
  }
  function button(text, onclick, cls = "") { const e = LL.el("button", { type: "button", text, class: cls }); e.onclick = onclick; return e; }
  async function guarded(fn) {
    try { await fn(); } catch (e) { status(e.message, true); }
  }

  // --- views ------------------------------------------------------------------------------
  const views = {
    async perks() {
      const perks = await api(`${b()}/perks`);
      fill("perks", ["perk", "cost", "min points", "stock", "redeemed", "status", ""], perks.map((p) => {
        const actions = LL.el("span", { class: "actions" });
        if (S.manage) {
          const stock = LL.el("input", { type: "number", min: "0", size: "6", value: p.total_stock ?? "", class: "stock", "aria-label": "stock" });
          actions.append(stock, button("Save stock", () => guarded(async () => {
            await api(`/perks/${p.id}`, { method: "PATCH", body: { total_stock: stock.value === "" ? null : Number(stock.value) } });
            status(`stock of ${p.name} saved`); await views.perks();
          }), "secondary"));
          actions.append(button("Edit", () => editPerk(p), "secondary"));
          if (p.active) actions.append(button("Switch off", () => guarded(async () => {
            await api(`/perks/${p.id}`, { method: "DELETE" }); status(`${p.name} switched off`); await views.perks();
          }), "danger"));
          else actions.append(button("Switch on", () => guarded(async () => {
            await api(`/perks/${p.id}`, { method: "PATCH", body: { active: true } }); status(`${p.name} switched on`); await views.perks();
          })));
        }
        return [p.name, LL.int(p.point_cost), LL.int(p.min_points), p.total_stock === null ? "unlimited" : LL.int(p.total_stock),
          LL.int(p.redeemed_count), p.active ? "on" : "off", actions];
      }));
    },
    async members() {},
    async segments() {
      if (!$("seg-conds").children.length) addCondition("tier", ">=", "1");
      const [segs, notes] = await Promise.all([api(`${b()}/segments`), api(`${b()}/notifications`)]);
      S.segments = segs.segments;
      fill("segments", ["segment", "rules", "members now", ""], S.segments.map((s) => [s.name,
        s.rules.conditions.map((c) => `${c.field} ${c.op} ${JSON.stringify(c.value)}${c.days ? ` (${c.days} d)` : ""}`).join(s.rules.match === "any" ? " or " : " and ") || "everyone",
        LL.int(s.count),
        S.manage ? button("Delete", () => guarded(async () => { await api(`${b()}/segments/${s.id}`, { method: "DELETE" }); await views.segments(); }), "danger") : ""]));
      $("send-segment").replaceChildren(...S.segments.map((s) => LL.el("option", { value: String(s.id), text: `${s.name} (${s.count})` })));
      fill("note-states", ["state", "notifications"], Object.entries(notes.states).map(([k, v]) => [k, LL.int(v)]), "none sent yet");
    },
    async webhooks() {
      const hooks = (await api(`${b()}/webhooks`)).webhooks;
      fill("webhooks", ["id", "url", "status", ""], hooks.map((h) => [String(h.id), h.url, h.active ? "on" : "off",
        S.manage && h.active ? button("Switch off", () => guarded(async () => { await api(`${b()}/webhooks/${h.id}`, { method: "DELETE" }); await views.webhooks(); }), "danger") : ""]));
    },
    async exchanges() {
      const ex = (await api("/exchanges")).exchanges.filter((e) => e.from_brand === S.brand || e.to_brand === S.brand);
      fill("exchanges", ["id", "from", "to", "rate", "approved (from / to)", "paused", "budget left", "status", ""], ex.map((e) => [String(e.id), e.from_brand, e.to_brand,
        `${e.rate_from} → ${e.rate_to}`, `${e.approved_from ? "yes" : "no"} / ${e.approved_to ? "yes" : "no"}`,
        e.paused_from || e.paused_to || e.paused_operator ? "paused" : "no", LL.int(e.remaining_budget), e.status, exchangeActions(e)]), "no exchange with this brand");
    },
    async metrics() {
      const day = (d) => d.toISOString().slice(0, 10);
      const now = new Date(), y = now.getUTCFullYear(), mo = now.getUTCMonth();
      const m = (k) => new Date(Date.UTC(y, mo + k, 1));
      const tomorrow = new Date(Date.UTC(y, mo, now.getUTCDate() + 1));
      const presets = [["This month", m(0), tomorrow], ["Last month", m(-1), m(0)], ["Last 3 months", m(-3), m(0)],
        ["Last 12 months", m(-12), m(0)], ["Year to date", new Date(Date.UTC(y, 0, 1)), tomorrow]];
      const base = `/dashboard#brand=${encodeURIComponent(S.brand)}&key=${encodeURIComponent(S.key)}`;
      $("presets").replaceChildren(...presets.map(([label, from, to]) =>
        LL.el("a", { class: "preset", href: `${base}&from=${day(from)}&to=${day(to)}`, target: "_blank", text: label })));
      const res = (await api(`${b()}/perk-results`)).results;
      fill("perk-results", ["perk", "tier", "redemptions", "points", "members", "stock", "status"], res.map((r) => [r.perk,
        r.tier === null ? (r.redemptions ? "no pass" : "–") : (r.tier_name || `tier ${r.tier}`), LL.int(r.redemptions), LL.int(r.points),
        LL.int(r.members), r.stock === null ? "unlimited" : `${LL.int(r.redeemed_count)} / ${LL.int(r.stock)}`, r.active ? "on" : "off"]), "no perks yet");
    },
    async keys() {
      const keys = (await api("/keys")).keys.filter((k) => k.brand_id === S.brand);
      fill("keys", ["key id", "roles", "label", "created", "status", ""], keys.map((k) => [k.key_id, k.roles, k.label,
        LL.date(k.created_at), k.revoked_at ? `revoked ${LL.date(k.revoked_at)}` : "active",
        S.operator && !k.revoked_at ? button("Revoke", () => guarded(async () => {
          await api(`/keys/${k.key_id}`, { method: "DELETE" }); status(`key ${k.key_id} revoked`); await views.keys();
        }), "danger") : ""]), "no keys");
      $("key-note").textContent = S.operator ? "" : "Only the operator's key creates and revokes keys.";
    },
    async export() {
      $("exports").replaceChildren(...EXPORTS.map((name) => LL.el("li", {}, button(`${name}.csv`, () => guarded(() => download(name)), "link"))));
    },
  };

  // A brand approves its side of an exchange, or declines / pauses it (its own pause only).
  function exchangeActions(e) {
    const box = LL.el("span", { class: "actions" });
    if (!S.programme) return box;
    const ours = e.from_brand === S.brand ? { approved: e.approved_from, paused: e.paused_from } : { approved: e.approved_to, paused: e.paused_to };
    const act = (verb, label, cls) => button(label, () => guarded(async () => {
      const r = await api(`${b()}/exchanges/${e.id}/${verb}`, { method: "POST" });
      status(`exchange ${e.id}: ${verb === "approve" ? (r.opened ? "approved, now open" : "approved") : verb + "d"} in block ${r.block_number}`);
      await views.exchanges();
    }), cls);
    if (!ours.approved) box.append(act("approve", "Approve", ""));
    box.append(ours.paused ? act("unpause", "Unpause", "secondary") : act("pause", ours.approved ? "Pause" : "Decline", "danger"));
    return box;
  }

  async function download(name) {
    const r = await fetch(`${b()}/export/${name}.csv`, { headers: { "X-API-Key": S.key } });
    if (!r.ok) throw new Error(`export ${name}: ${r.status}`);
    const blob = await r.blob();
    const a = LL.el("a", { href: URL.createObjectURL(blob), download: `${S.brand}-${name}.csv` });
    document.body.append(a); a.click(); a.remove();
    status(`${name}.csv exported`);
  }

  // --- members ------------------------------------------------------------------------------
  async function search(ev) {
    ev.preventDefault();
    const q = $("member-q").value.trim();
    const found = (await api(`${b()}/members?q=${encodeURIComponent(q)}`)).members;
    fill("member-results", ["member", ""], found.map((m) => [m, button("Open", () => guarded(() => open360(m)), "secondary")]), "no member matches");
    if (found.length === 1) await open360(found[0]);
  }

  async function open360(addr) {
    const m = await api(`${b()}/members/${addr}`);
    $("member-360").hidden = false;
    $("m-address").textContent = m.member;
    const sc = m.scores;
    $("m-kpis").replaceChildren(...[["balance", LL.int(m.balance)], ["tier", m.pass ? String(m.pass.tier) : "no pass"],
      ["orders", LL.int(m.orders.filter((o) => o.reason === "purchase").length)],
      ["churn risk", sc ? `${sc.churn.score} / 100` : "–"], ["RFM", sc && sc.rfm ? sc.rfm.join("") : "–"],
      ["referral code", (m.referral && m.referral.referral_code) || "–"],
      ["referred by", m.referral && m.referral.referred_by ? LL.short(m.referral.referred_by) : "–"]]
      .map(([l, v]) => LL.el("div", { class: "kpi" }, LL.el("div", { class: "label", text: l }), LL.el("div", { class: "value", text: v }))));
    const p = m.profile;
    fill("m-profile", ["field", "value"], p ? Object.entries(p).filter(([k]) => !["brand_id", "member"].includes(k))
      .map(([k, v]) => [k, v === null ? "–" : k.endsWith("_at") ? LL.date(v) : String(v)]) : [], "no profile");
    fill("m-lots", ["expires on", "points"], m.lots.map((l) => [LL.date(l.expires_at), LL.int(l.amount)]), "no expiring points");
    fill("m-pass", ["event", "block", "tier"], m.pass_history.map((h) => [h.event, String(h.block), String(h.toTier ?? h.tier ?? "")]), "no pass");
    fill("m-orders", ["date", "reason", "order", "channel", "store", "amount", "points", "status", ""], m.orders.map((o) => [LL.date(o.ordered_at), o.reason,
      o.order_id || o.action_id || "", o.channel, o.store_id, o.order_amount === null ? "" : LL.int(o.order_amount), LL.int(o.points), o.status,
      button("Why?", () => guarded(() => explain(o.id)), "link")]), "no orders");
    $("m-explain").replaceChildren();
    fill("m-redemptions", ["id", "perk", "points", "status"], m.redemptions.map((r) => [String(r.id), String(r.perk_id), LL.int(r.points), r.status]), "no redemptions");
    fill("m-notes", ["date", "kind", "channel", "state", "subject"], m.notifications.map((n) => [LL.date(n.created_at), n.kind, n.channel, n.state, n.subject ?? "(hidden)"]), "no notifications");
    $("m-erase").hidden = !S.manage || !p;
    $("m-erase").onclick = () => guarded(async () => {
      if (!confirm(`Erase the personal data of ${m.member}? The ledger and totals stay.`)) return;
      await api(`${b()}/members/${m.member}/profile`, { method: "DELETE" });
      status("personal data erased"); await open360(m.member);
    });
  }

  // Why an earning paid what it did: each rule (and version) with its points and reason.
  async function explain(id) {
    const x = await api(`${b()}/earnings/${id}`);
    const t = LL.el("table");
    $("m-explain").replaceChildren(LL.el("p", { class: "explain", text: `Earning ${id}: ${x.explanation}` }), t);
    t.append(row(["rule", "version", "campaign", "points", "why"], true),
      ...x.lines.map((l) => row([`${l.name || l.rule_id}`, String(l.version), l.campaign_id, LL.int(l.points), l.why])));
  }

  // --- segments -----------------------------------------------------------------------------
  function addCondition(field = "balance", op = ">=", value = "") {
    const f = LL.el("select", { class: "c-field" }, ...Object.keys(FIELDS).map((k) => LL.el("option", { value: k, text: k })));
    const o = LL.el("select", { class: "c-op" }, ...["==", "!=", ">=", "<=", ">", "<", "in"].map((k) => LL.el("option", { value: k, text: k })));
    const v = LL.el("input", { class: "c-value", placeholder: "value", size: "12" });
    const d = LL.el("input", { class: "c-days", type: "number", min: "1", placeholder: "days", size: "5" });
    const line = LL.el("div", { class: "cond" }, f, o, v, d, button("×", () => line.remove(), "secondary"));
    f.value = field; o.value = op; v.value = value;
    const sync = () => { d.hidden = f.value !== "expiring_points"; };
    f.onchange = sync; sync();
    $("seg-conds").append(line);
  }

  function rules() {
    const conditions = [...document.querySelectorAll("#seg-conds .cond")].map((line) => {
      const field = line.querySelector(".c-field").value, op = line.querySelector(".c-op").value;
      const raw = line.querySelector(".c-value").value.trim();
      const kind = FIELDS[field];
      let value = raw;
      if (op === "in") value = raw.split(",").map((s) => s.trim()).filter(Boolean);
      else if (kind === "number") value = raw === "" ? raw : Number(raw);
      else if (kind === "bool") value = raw === "true" || raw === "yes";
      const c = { field, op, value };
      if (field === "expiring_points") c.days = Number(line.querySelector(".c-days").value || 30);
      return c;
    });
    return { match: $("seg-match").value, conditions };
  }

  async function countSegment() {
    const r = await api(`${b()}/segments/count`, { method: "POST", body: { rules: rules() } });
    $("seg-result").textContent = `${LL.int(r.count)} members`;
  }

  async function saveSegment() {
    await api(`${b()}/segments`, { method: "POST", body: { name: $("seg-name").value.trim(), rules: rules() } });
    status("segment saved"); await views.segments();
  }

  async function send(ev) {
    ev.preventDefault();
    const r = await api(`${b()}/notifications`, { method: "POST", body: {
      segment_id: Number($("send-segment").value), subject: $("send-subject").value, text: $("send-text").value,
      send_id: `console-${Date.now()}` } });
    $("send-result").textContent = `${r.queued} queued, ${r.skipped} without consent or address`;
    await views.segments();
  }

  // --- perks and webhooks forms ------------------------------------------------------------
  // The perk form creates a perk, or saves the one being edited (Edit fills it in).
  function editPerk(p) {
    S.editing = p.id;
    $("perk-name").value = p.name; $("perk-cost").value = p.point_cost; $("perk-min").value = p.min_points;
    $("perk-stock").value = p.total_stock ?? "";
    $("perk-submit").textContent = `Save ${p.name}`; $("perk-cancel").hidden = false;
  }

  function endEdit() {
    S.editing = null; $("perk-form").reset();
    $("perk-submit").textContent = "Create perk"; $("perk-cancel").hidden = true;
  }

  async function createPerk(ev) {
    ev.preventDefault();
    const num = (id) => ($(id).value === "" ? null : Number($(id).value));
    const body = { name: $("perk-name").value.trim(), point_cost: num("perk-cost"), min_points: num("perk-min") ?? 0 };
    if (S.editing !== null) {
      await api(`/perks/${S.editing}`, { method: "PATCH", body: { ...body, total_stock: num("perk-stock") } });
      status(`perk ${body.name} saved`);
    } else {
      if (num("perk-stock") !== null) body.total_stock = num("perk-stock");
      await api(`${b()}/perks`, { method: "POST", body });
      status(`perk ${body.name} created`);
    }
    endEdit(); await views.perks();
  }

  async function createKey(ev) {
    ev.preventDefault();
    const roles = [...document.querySelectorAll("#key-form input[type=checkbox]:checked")].map((c) => c.value);
    const k = await api("/keys", { method: "POST", body: { kind: "brand", brand_id: S.brand, roles, label: $("key-label").value.trim() } });
    $("key-new").hidden = false;
    $("key-new").textContent = `New key ${k.key_id} (shown once, keep it): ${k.key}`;
    await views.keys();
  }

  async function addHook(ev) {
    ev.preventDefault();
    const h = await api(`${b()}/webhooks`, { method: "POST", body: { url: $("hook-url").value.trim() } });
    $("hook-secret").hidden = false;
    $("hook-secret").textContent = `Signing secret of endpoint ${h.id} (shown once, keep it): ${h.secret}`;
    await views.webhooks();
  }

  // --- navigation ---------------------------------------------------------------------------
  async function show(view) {
    for (const s of document.querySelectorAll("section.view")) s.hidden = true;
    for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.view === view);
    const section = $(`view-${view}`) || $("view-perks");
    section.hidden = false;
    await guarded(() => (views[view] || views.perks)());
  }

  async function openConsole() {
    S.brand = $("brand").value.trim(); S.key = $("key").value.trim();
    if (!S.brand || !S.key) { status("enter a brand and a key", true); return; }
    const who = await api(`${b()}/access`);
    S.manage = who.manage;
    document.body.classList.toggle("read-only", !S.manage);
    S.operator = who.kind === "operator";
    S.programme = Boolean(who.programme);
    for (const e of document.querySelectorAll(".edit-rules")) e.hidden = !S.programme;
    for (const e of document.querySelectorAll(".edit")) e.hidden = !S.manage;
    for (const e of document.querySelectorAll(".operator")) e.hidden = !S.operator;
    $("welcome") && ($("welcome").hidden = true);
    $("view-welcome").hidden = true; $("nav").hidden = false;
    status(`${who.name || who.brand_id}: ${S.manage ? "manager" : "read only"} (${who.kind}${who.roles.length ? ": " + who.roles.join(", ") : ""})`);
    const view = (location.hash.match(/view=(\w+)/) || [])[1] || "perks";
    await show(view);
  }

  // The pages in console-rules.js and console-metrics.js add their views here.
  window.LLC = { S, $, api, b, row, fill, button, guarded, status, views };

  $("open").onclick = () => guarded(openConsole);
  for (const a of document.querySelectorAll("#nav a[data-view]")) {
    a.onclick = (ev) => { ev.preventDefault(); show(a.dataset.view); };
  }
  $("member-search").onsubmit = (ev) => guarded(() => search(ev));
  $("seg-add").onclick = () => addCondition();
  $("seg-count").onclick = () => guarded(countSegment);
  $("seg-save").onclick = () => guarded(saveSegment);
  $("send-form").onsubmit = (ev) => guarded(() => send(ev));
  $("perk-form").onsubmit = (ev) => guarded(() => createPerk(ev));
  $("perk-cancel").onclick = endEdit;
  $("hook-form").onsubmit = (ev) => guarded(() => addHook(ev));
  $("key-form").onsubmit = (ev) => guarded(() => createKey(ev));
  const params = LL.hashParams();
  if (params.get("brand")) $("brand").value = params.get("brand");
  if (params.get("key")) $("key").value = params.get("key");
  if (params.get("brand") && params.get("key")) guarded(openConsole);
})();
