// The brand dashboard: every figure and chart comes from the insights API's JSON.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const charts = {};
  const state = { brand: "", key: "", feedTop: 0, timer: null, run: 0 };
  if (window.Chart) {
    Chart.defaults.animation = false; // drawn at once: the first load is what a brand sees
    Chart.defaults.maintainAspectRatio = false;
    Chart.defaults.font.family = "system-ui, sans-serif";
  }

  function draw(id, config) {
    if (charts[id]) charts[id].destroy();
    charts[id] = new Chart($(id), config);
  }

  // The KPI cards in their order on the page: each is filled when the parts it shows come.
  const KPIS = ["customers", "revenue", "aov", "clv", "clv-predicted", "clv-period", "frequency", "repeat",
    "churn", "lapsed", "nps", "liability", "redemption", "breakage"];

  function kpi(id, label, value, raw, sub) {
    const card = $("kpi-" + id);
    card.dataset.value = raw === null || raw === undefined ? "" : String(raw);
    card.replaceChildren(LL.el("div", { class: "label", text: label }), LL.el("div", { class: "value", text: value }));
    if (sub) card.append(LL.el("div", { class: "sub", text: sub }));
  }

  // A rate beside its numerator and denominator: "(1 of 3)".
  const of = (n, d, what = "") => `(${LL.int(n)} of ${LL.int(d)}${what ? " " + what : ""})`;
  // A month label, starred when the month is partial (cut by the period or not over yet).
  const label = (m) => m.month + (m.partial ? "*" : "");

  function table(el, head, rows) {
    el.replaceChildren(LL.el("tr", {}, ...head.map((h) => LL.el("th", { text: h }))),
      ...rows.map((r) => LL.el("tr", {}, ...r.map((c) => (c instanceof Node ? LL.el("td", {}, c) : LL.el("td", { text: String(c) }))))));
  }

  async function load() {
    state.brand = $("brand").value.trim();
    state.key = $("key").value.trim();
    if (!state.brand || !state.key) { $("status").textContent = "enter a brand and its API key"; return; }
    sessionStorage.setItem("ll.brand", state.brand);
    sessionStorage.setItem("ll.key", state.key);
    const q = new URLSearchParams();
    if ($("from").value) q.set("from", $("from").value);
    if ($("to").value) q.set("to", $("to").value);
    const url = `/brands/${encodeURIComponent(state.brand)}/insights/dashboard?` + q;
    const run = ++state.run; // a newer load (Show) makes this one's late parts moot
    $("status").textContent = "loading…";
    document.body.dataset.ready = "";
    $("kpis").replaceChildren(...KPIS.map((id) => LL.el("div", { class: "kpi", id: "kpi-" + id })));
    const got = {}, todo = DRAW.slice();
    const take = (name, answer) => {
      if (run !== state.run) return;
      got[name] = answer;
      for (const d of todo.filter(([needs]) => needs.every((n) => n in got))) {
        todo.splice(todo.indexOf(d), 1);
        d[1](got);
      }
    };
    try {
      // One request: every metric, each as its own endpoint answers it, as lines drawn as they
      // come (the first load's was started in the page's head, before the scripts).
      const early = window.LLEarly;
      window.LLEarly = null;
      const r = early && early.url === url && early.key === state.key ? await early.answer
        : await fetch(url, { headers: { Accept: "application/x-ndjson", "X-API-Key": state.key } });
      if (!r.ok) await LL.answer(r); // throws the API's error
      await LL.lines(r, (line) => { if (line.part) take(line.part, line.answer); });
      if (run !== state.run) return;
      if (todo.length) throw new Error("the answer ended before every part came");
      performance.mark("ll-drawn");
      document.body.dataset.ready = "1";
      startFeed();
    } catch (e) {
      if (run === state.run) $("status").replaceChildren(LL.el("span", { class: "error", text: `error: ${e.message}` }));
    }
  }

  function drawStatus({ clv, basket, churn }) {
    const p = clv.period;
    $("status").textContent = `${basket.currency} · ${p.from.slice(0, 10)} → ${p.to.slice(0, 10)} (excl.)` +
      (p.partial ? ` · to date, as of ${p.as_of.slice(0, 16).replace("T", " ")} UTC` : " · complete");
    $("period-note").textContent = (p.partial_months.length ? `* partial month: ${p.partial_months.join(", ")}. ` : "") +
      `Churn: ${churn.definition}. Money in minor units of ${basket.currency}.`;
  }

  function drawClv({ clv }) {
    const life = clv.lifetime, pred = clv.predicted, spent = clv.in_period;
    kpi("customers", "Customers who bought", LL.int(spent.customers), spent.customers);
    kpi("clv", "Lifetime value to date (mean)", LL.int(life.mean), life.mean, `median ${LL.int(life.median)} · ${LL.int(life.customers)} customers`);
    kpi("clv-predicted", `Predicted value (${Math.round(pred.horizon_days / 365)} years)`, LL.int(pred.value), pred.value,
      pred.value === null ? (pred.note || "") : `${LL.int(pred.average_order_value)} × ${LL.num(pred.orders_per_customer)} orders × ${LL.num(pred.expected_windows, 1)} windows of ${pred.days} days`);
    kpi("clv-period", "Spend per customer (period)", LL.int(spent.clv_mean), spent.clv_mean);
    draw("chart-clv", { type: "bar", data: { labels: life.distribution.map((b) => `${LL.int(b.lo)}–${LL.int(b.hi)}`), datasets: [
      { label: "customers", data: life.distribution.map((b) => b.count), backgroundColor: "#7048e8" }] } });
  }

  function drawRevenue({ clv, basket }) {
    const spent = clv.in_period;
    kpi("revenue", `Revenue (${basket.currency})`, LL.int(spent.revenue), spent.revenue, `previous period ${LL.int(basket.previous.revenue)}`);
  }

  function drawBasket({ basket }) {
    kpi("aov", "Average order value", LL.int(basket.average_order_value), basket.average_order_value);
    const months = basket.trend.map(label);
    draw("chart-basket", { type: "line", data: { labels: months, datasets: [
      { label: "revenue", data: basket.trend.map((m) => m.revenue), yAxisID: "y", borderColor: "#3b5bdb", backgroundColor: "#3b5bdb33", fill: true, tension: 0.25 },
      { label: "average order value", data: basket.trend.map((m) => m.average_order_value), yAxisID: "y1", borderColor: "#f08c00", tension: 0.25 },
    ] }, options: { scales: { y: { beginAtZero: true }, y1: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false } } } } });
    draw("chart-items", { type: "line", data: { labels: months, datasets: [
      { label: "items per order", data: basket.trend.map((m) => m.items_per_order), borderColor: "#2f9e44", tension: 0.25 }] },
      options: { scales: { y: { beginAtZero: true } } } });
  }

  function drawFrequency({ frequency: freq }) {
    kpi("frequency", "Orders per customer", LL.num(freq.purchase_frequency), freq.purchase_frequency);
    kpi("repeat", "Repeat-purchase rate", LL.pct(freq.repeat_purchase_rate), freq.repeat_purchase_rate, of(freq.repeat_customers, freq.customers));
    draw("chart-frequency", { type: "bar", data: { labels: freq.orders_per_customer.map((d) => d.orders), datasets: [
      { label: "customers", data: freq.orders_per_customer.map((d) => d.customers), backgroundColor: "#1098ad" }] } });
  }

  function drawChurn({ churn }) {
    kpi("churn", `Churn (no purchase ${churn.days} days)`, LL.pct(churn.churn_rate), churn.churn_rate, churn.note || of(churn.churned, churn.at_risk));
    kpi("lapsed", "Lapsed customers", LL.pct(churn.lapsed.lapsed_rate), churn.lapsed.lapsed_rate, of(churn.lapsed.lapsed, churn.lapsed.customers));
    const churnPct = (rows) => rows.map((m) => (m.churn_rate === null ? null : 100 * m.churn_rate));
    const series = [churn.monthly, churn.activity.monthly];
    draw("chart-churn", { type: "line", data: { labels: churn.monthly.map(label), datasets: [
      { label: "customers (purchases) %", data: churnPct(churn.monthly), borderColor: "#e03131", tension: 0.25 },
      { label: "members (any activity) %", data: churnPct(churn.activity.monthly), borderColor: "#adb5bd", borderDash: [4, 4], tension: 0.25 }] },
      options: { scales: { y: { beginAtZero: true } }, plugins: { tooltip: { callbacks: { label: (c) => {
        const m = series[c.datasetIndex][c.dataIndex];
        return `${c.dataset.label}: ${LL.pct(m.churn_rate)} ${of(m.churned, m.active_at_start)}`;
      } } } } } });
  }

  function drawNps({ nps }) {
    kpi("nps", "NPS", nps.nps === null ? "–" : LL.num(nps.nps, 1), nps.nps, `${LL.int(nps.answers)} answers`);
    draw("chart-nps", { type: "bar", data: { labels: nps.trend.map((m) => `${label(m)} (${m.answers})`), datasets: [
      { label: "NPS", data: nps.trend.map((m) => m.nps), backgroundColor: nps.trend.map((m) => ((m.nps || 0) >= 0 ? "#2f9e44" : "#e03131")) }] },
      options: { scales: { y: { suggestedMin: -100, suggestedMax: 100 } } } });
  }

  function drawPoints({ points }) {
    kpi("liability", "Points outstanding", LL.int(points.outstanding_liability), points.outstanding_liability);
    kpi("redemption", "Redemption rate", LL.pct(points.redemption_rate), points.redemption_rate, of(points.redeemed, points.credited, "credited"));
    kpi("breakage", "Breakage (expired + forfeited)", LL.pct(points.breakage_rate), points.breakage_rate, of(points.breakage, points.credited, "credited"));
    const flows = points.flows.trend;
    draw("chart-points", { type: "bar", data: { labels: flows.map(label), datasets: [
      { label: "issued", data: flows.map((f) => f.issued), backgroundColor: "#3b5bdb" },
      { label: "redeemed", data: flows.map((f) => f.redeemed), backgroundColor: "#2f9e44" },
      { label: "expired", data: flows.map((f) => f.expired), backgroundColor: "#f08c00" },
      { label: "forfeited", data: flows.map((f) => f.forfeited), backgroundColor: "#e03131" }] },
      options: { scales: { y: { beginAtZero: true } } } });
    $("points-timing").textContent = `Placed by time: ${points.flows.timing}.`;
    draw("chart-tiers", { type: "doughnut", data: { labels: points.tiers.map((t) => t.name), datasets: [
      { label: "active passes", data: points.tiers.map((t) => t.active), backgroundColor: ["#ced4da", "#adb5bd", "#fab005", "#7048e8", "#1098ad", "#e64980"] }] } });
    table($("points"), ["", "points"], [
      ["issued", LL.int(points.issued)], ["swapped in (exchange)", LL.int(points.swapped_in)],
      ["redeemed", LL.int(points.redeemed)], ["swapped out (exchange)", LL.int(points.swapped_out)],
      ["forfeited", LL.int(points.forfeited)], ["expired", LL.int(points.expired)],
      ["outstanding", LL.int(points.outstanding_liability)], ["credited (issued + swapped in)", LL.int(points.credited)],
      ["redemption rate", `${LL.pct(points.redemption_rate)} ${of(points.redeemed, points.credited)}`],
      ["breakage (expired + forfeited)", `${LL.pct(points.breakage_rate)} ${of(points.breakage, points.credited)}`],
      ["of which expired", LL.pct(points.expiry_breakage_rate)], ["of which forfeited", LL.pct(points.forfeit_breakage_rate)],
      ["books balance", points.books.balanced ? "yes" : `off by ${LL.int(points.books.difference)}`],
      [`gifts (${LL.int(points.gifts.count)})`, LL.int(points.gifts.points)],
      ["gift senders / receivers", `${LL.int(points.gifts.senders)} / ${LL.int(points.gifts.receivers)}`],
      ...points.tiers.map((t) => [`tier ${t.name} (active / all)`, `${LL.int(t.active)} / ${LL.int(t.passes)}`]),
    ]);
  }

  function drawRetention({ retention }) {
    const width = Math.max(0, ...retention.cohorts.map((c) => c.retention.length));
    const cohortRows = retention.cohorts.map((c) => [c.cohort, LL.int(c.size), ...Array.from({ length: width }, (_, k) => {
      const v = c.retention[k];
      return v === undefined ? "" : LL.pct(v) + (c.partial[k] ? "*" : "");
    })]);
    table($("cohorts"), ["cohort", "size", ...Array.from({ length: width }, (_, k) => `m+${k}`)], cohortRows);
    [...$("cohorts").querySelectorAll("tr")].slice(1).forEach((tr, i) => {
      const c = retention.cohorts[i];
      [...tr.children].slice(2).forEach((td, k) => {
        const v = parseFloat(td.textContent);
        if (!Number.isNaN(v)) td.style.background = `rgba(59, 91, 219, ${Math.min(0.85, v / 100)})`;
        if (v > 55) td.style.color = "#fff";
        if (k >= c.active.length) return;
        td.title = `${LL.int(c.active[k])} of ${LL.int(c.size)}` + (c.partial[k] ? ", month to date" : "");
        if (c.partial[k]) td.classList.add("partial");
      });
    });
    table($("activity-cohorts"), ["cohort", "members", "bought", "never bought"], retention.activity_cohorts.map((c) =>
      [c.cohort, LL.int(c.size), LL.int(c.size - c.never_bought), LL.int(c.never_bought)]));
  }

  function drawTop({ top_customers: top }) {
    const who = (r) => LL.el("span", { class: "addr", title: r.member, text: LL.short(r.member) });
    table($("top-spend"), ["customer", "spend", "orders"], top.by_spend.map((r) => [who(r), LL.int(r.spend), LL.int(r.orders)]));
    table($("top-orders"), ["customer", "orders", "spend"], top.by_orders.map((r) => [who(r), LL.int(r.orders), LL.int(r.spend)]));
  }

  // What each part draws once the parts it reads have come (a part's line: its own endpoint's
  // answer); the page is ready when every one has drawn.
  const DRAW = [
    [["clv"], drawClv], [["clv", "basket"], drawRevenue], [["basket"], drawBasket],
    [["frequency"], drawFrequency], [["churn"], drawChurn], [["nps"], drawNps], [["points"], drawPoints],
    [["retention"], drawRetention], [["top_customers"], drawTop], [["clv", "basket", "churn"], drawStatus],
  ];

  async function poll() {
    try {
      const page = await LL.api(`/brands/${encodeURIComponent(state.brand)}/ledger?limit=25`, { key: state.key });
      $("feed-block").textContent = page.as_of_block === null ? "" : `as of block ${page.as_of_block}`;
      // When (UTC) rather than a block number; the block stays in the cell's tooltip.
      const rows = page.entries.map((e) => {
        const tr = LL.el("tr", {}, LL.el("td", { class: "when", title: `block ${e.block_number}`, text: LL.when(e.time) }), LL.el("td", { text: e.kind }),
          LL.el("td", { class: "addr", title: e.account, text: LL.short(e.account) }),
          LL.el("td", { class: "addr", title: e.counterparty || "", text: LL.short(e.counterparty || "") }),
          LL.el("td", { text: LL.int(e.amount) }), LL.el("td", { text: e.note || "" }));
        if (state.feedTop && e.id > state.feedTop) tr.className = "new";
        return tr;
      });
      $("feed").replaceChildren(LL.el("tr", {}, ...["when (UTC)", "kind", "account", "to", "points", "note"].map((h) => LL.el("th", { text: h }))), ...rows);
      if (page.entries.length) state.feedTop = page.entries[0].id;
    } catch (e) {
      $("feed-block").textContent = `feed error: ${e.message}`;
    }
  }

  function startFeed() {
    if (state.timer) clearInterval(state.timer);
    state.feedTop = 0;
    poll();
    state.timer = setInterval(poll, 3000);
  }

  const hp = LL.hashParams();
  $("brand").value = hp.get("brand") || sessionStorage.getItem("ll.brand") || "";
  $("key").value = hp.get("key") || sessionStorage.getItem("ll.key") || "";
  if (hp.get("from")) $("from").value = hp.get("from");
  if (hp.get("to")) $("to").value = hp.get("to");
  $("load").addEventListener("click", load);
  if ($("brand").value && $("key").value) load();
})();
