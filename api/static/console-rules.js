// The console's programme pages: earn rules (create, edit = a new version, switch off/on),
// campaigns with their window, budget, cost and reach, a simulation of the rules over a past
// period, and the tier rule. Changes need a programme_manager or perk_manager key (the API
// refuses others anyway); a viewer sees the tables only.
"use strict";
(() => {
  const C = window.LLC;
  const { $, S, api, b, fill, button, guarded, status } = C;
  const DAY = 86400;
  const secs = (date) => Math.floor(Date.parse(`${date}T00:00:00Z`) / 1000);
  const day = (ts) => new Date(ts * 1000).toISOString().slice(0, 10);
  const ago = (days) => day(Math.floor(Date.now() / 1000) - days * DAY);
  let rules = [];

  function effectText(e) {
    if (e.type === "fixed") return `${LL.int(e.points)} points`;
    if (e.type === "per_amount") return `1 point per ${LL.int(e.amount_per_point)}`;
    if (e.type === "multiplier") return `${e.percent}% of the base rate`;
    if (e.type === "perk") return `perk ${e.perk_id}`;
    return JSON.stringify(e);
  }
  const EFFECT_KEY = { fixed: "points", per_amount: "amount_per_point", multiplier: "percent", perk: "perk_id" };

  function conditionsText(c) {
    const parts = Object.entries(c || {}).map(([k, v]) =>
      k.endsWith("_at") && typeof v === "number" ? `${k} ${day(v)}` : `${k} ${Array.isArray(v) ? v.join("/") : v}`);
    return parts.join(", ") || "always";
  }

  // --- rules ------------------------------------------------------------------------------
  async function showRules() {
    rules = await api(`${b()}/rules`);
    fill("rules", ["rule", "name", "trigger", "conditions", "effect", "priority", "stacking", "limit", "campaign", "version", "status", ""],
      rules.map((r) => {
        const actions = LL.el("span", { class: "actions" });
        if (S.programme) {
          actions.append(button("Edit", () => edit(r), "secondary"));
          actions.append(button(r.active ? "Switch off" : "Switch on", () => guarded(async () => {
            await api(`${b()}/rules/${encodeURIComponent(r.rule_id)}`, { method: "PATCH", body: { active: !r.active } });
            status(`rule ${r.rule_id} switched ${r.active ? "off" : "on"}`); await showRules();
          }), r.active ? "danger" : ""));
        }
        return [r.rule_id, r.name, r.trigger, conditionsText(r.conditions), effectText(r.effect), String(r.priority), r.stacking,
          r.limit ? `${r.limit.count} per ${r.limit.period}` : "", r.campaign_id, String(r.version), r.active ? "on" : "off", actions];
      }), "no rules yet");
  }

  function edit(r) {
    $("rule-id").value = r.rule_id; $("rule-name").value = r.name; $("rule-trigger").value = r.trigger;
    $("rule-effect").value = r.effect.type; $("rule-value").value = r.effect[EFFECT_KEY[r.effect.type]] ?? "";
    $("rule-priority").value = r.priority; $("rule-stacking").value = r.stacking; $("rule-campaign").value = r.campaign_id || "";
    $("rule-limit").value = r.limit ? r.limit.count : ""; $("rule-period").value = r.limit ? r.limit.period : "";
    $("rule-conditions").value = JSON.stringify(r.conditions || {});
    $("rule-form").scrollIntoView({ block: "center" });
  }

  function ruleFromForm() {
    let conditions;
    try { conditions = JSON.parse($("rule-conditions").value.trim() || "{}"); } catch (e) {
      throw new Error(`conditions: not JSON (${e.message})`);
    }
    const type = $("rule-effect").value;
    const spec = {
      name: $("rule-name").value.trim(), trigger: $("rule-trigger").value.trim(), conditions,
      effect: { type, [EFFECT_KEY[type]]: Number($("rule-value").value) },
      priority: Number($("rule-priority").value || 0), stacking: $("rule-stacking").value,
    };
    if ($("rule-campaign").value.trim()) spec.campaign_id = $("rule-campaign").value.trim();
    if ($("rule-limit").value) spec.limit = { count: Number($("rule-limit").value), period: $("rule-period").value || "ever" };
    return spec;
  }

  async function saveRule(ev) {
    ev.preventDefault();
    const id = $("rule-id").value.trim();
    const r = await api(`${b()}/rules/${encodeURIComponent(id)}`, { method: "PUT", body: ruleFromForm() });
    status(`rule ${r.rule_id} saved (version ${r.version})`);
    await showRules(); await showCampaigns();
  }

  // --- campaigns --------------------------------------------------------------------------
  async function showCampaigns() {
    const camps = await api(`${b()}/campaigns`);
    fill("campaigns", ["campaign", "name", "starts", "ends", "budget", "spent", "cost (points)", "earnings", "members reached", "rules"],
      camps.map((c) => [c.campaign_id, c.name, day(c.starts_at), day(c.ends_at), c.budget === null ? "no budget" : LL.int(c.budget),
        LL.int(c.spent), LL.int(c.cost), LL.int(c.earnings), LL.int(c.members_reached), c.rules.join(", ") || "no rule yet"]), "no campaigns yet");
  }

  async function saveCampaign(ev) {
    ev.preventDefault();
    const id = $("camp-id").value.trim();
    const body = { name: $("camp-name").value.trim(), starts_at: secs($("camp-start").value), ends_at: secs($("camp-end").value) };
    body.budget = $("camp-budget").value === "" ? null : Number($("camp-budget").value);
    await api(`${b()}/campaigns/${encodeURIComponent(id)}`, { method: "PUT", body });
    status(`campaign ${id} saved`); $("rule-campaign").value = id; await showCampaigns();
  }

  // --- simulate ---------------------------------------------------------------------------
  async function simulate(ev) {
    ev.preventDefault();
    const body = { from: secs($("sim-from").value), to: secs($("sim-to").value) };
    if ($("sim-draft").checked || $("sim-only").checked) {
      body.drafts = [{ ...ruleFromForm(), rule_id: $("rule-id").value.trim() || "draft" }];
      body.only_drafts = $("sim-only").checked;
    }
    const r = await api(`${b()}/simulate`, { method: "POST", body });
    $("sim-kpis").replaceChildren(...[["orders", r.orders], ["points", r.points], ["members reached", r.members_reached],
      ["liability added", r.liability_added]].map(([l, v]) =>
      LL.el("div", { class: "kpi" }, LL.el("div", { class: "label", text: l }), LL.el("div", { class: "value", text: LL.int(v) }))));
    fill("sim-rules", ["rule", "points", "earnings", "members"], Object.entries(r.per_rule).map(([id, x]) =>
      [id, LL.int(x.points), LL.int(x.lines), LL.int(x.members)]), "no rule would have paid");
    status(`simulated ${day(body.from)} – ${day(body.to)}: nothing was paid`);
  }

  C.views.rules = async () => {
    if (!$("sim-from").value) { $("sim-from").value = ago(90); $("sim-to").value = ago(-1); }
    if (!$("camp-start").value) { $("camp-start").value = ago(0); $("camp-end").value = ago(-30); }
    await Promise.all([showRules(), showCampaigns()]);
  };

  // --- tier rule --------------------------------------------------------------------------
  function addThreshold(tier = "", min = "") {
    const t = LL.el("input", { type: "number", min: "0", max: "255", class: "t-tier", placeholder: "tier", value: String(tier), "aria-label": "tier" });
    const m = LL.el("input", { type: "number", min: "0", class: "t-min", placeholder: "at least", value: String(min), "aria-label": "minimum" });
    const line = LL.el("div", { class: "threshold" }, LL.el("span", { text: "tier" }), t, LL.el("span", { text: "from" }), m,
      button("×", () => line.remove(), "secondary"));
    $("tier-thresholds").append(line);
  }

  // "tier 1 · Silver": the number the rule stores, and the pass's own name for it.
  function tierName(rule, tier) {
    const known = (rule.tiers || []).find((t) => t.tier === tier);
    return known ? `tier ${tier} · ${known.name}` : `tier ${tier}`;
  }

  C.views.tiers = async () => {
    const rule = await api(`${b()}/tier-rule`);
    $("tier-now").textContent = rule === null ? "No tier rule yet: tiers change only when the brand sets them."
      : `Members qualify by ${rule.metric === "points" ? "points earned" : "amount spent"} over the last ${rule.window_days} days; `
        + `a downgrade waits ${rule.grace_days} days of grace.`;
    fill("tier-table", ["tier", `at least (${rule && rule.metric === "amount" ? "amount" : "points"})`],
      rule ? rule.thresholds.map((t) => [tierName(rule, t.tier), LL.int(t.min)]) : [], "no thresholds");
    $("tier-thresholds").replaceChildren();
    if (rule) {
      $("tier-metric").value = rule.metric; $("tier-window").value = rule.window_days; $("tier-grace").value = rule.grace_days;
      for (const t of rule.thresholds) addThreshold(t.tier, t.min);
    } else addThreshold(1, 1000);
  };

  async function saveTiers(ev) {
    ev.preventDefault();
    const thresholds = [...document.querySelectorAll("#tier-thresholds .threshold")].map((l) => ({
      tier: Number(l.querySelector(".t-tier").value), min: Number(l.querySelector(".t-min").value) }));
    await api(`${b()}/tier-rule`, { method: "PUT", body: {
      metric: $("tier-metric").value, window_days: Number($("tier-window").value), grace_days: Number($("tier-grace").value), thresholds } });
    status("tier rule saved"); await C.views.tiers();
  }

  async function evaluate() {
    const r = await api(`${b()}/tiers/evaluate`, { method: "POST" });
    $("tier-result").textContent = `${r.up} up, ${r.down} down, ${r.stayed} stayed (${r.in_grace} in grace): `
      + `${r.intents.length} tier change(s) queued`;
  }

  $("rule-form").onsubmit = (ev) => guarded(() => saveRule(ev));
  $("rule-clear").onclick = () => { $("rule-form").reset(); $("rule-conditions").value = "{}"; };
  $("camp-form").onsubmit = (ev) => guarded(() => saveCampaign(ev));
  $("sim-form").onsubmit = (ev) => guarded(() => simulate(ev));
  $("tier-add").onclick = () => addThreshold();
  $("tier-form").onsubmit = (ev) => guarded(() => saveTiers(ev));
  $("tier-evaluate").onclick = () => guarded(evaluate);
})();
