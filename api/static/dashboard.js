// The brand dashboard: every figure and chart comes from the insights API's JSON.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const charts = {};
  const state = { brand: "", key: "", feedTop: 0, timer: null };
  if (window.Chart) {
    Chart.defaults.animation = false; // drawn at once: the first load is what a brand sees
    Chart.defaults.maintainAspectRatio = false;
    Chart.defaults.font.family = "system-ui, sans-serif";
  }

  function draw(id, config) {
    if (charts[id]) charts[id].destroy();
    charts[id] = new Chart($(id), config);
  }

  function kpi(id, label, value, raw) {
    const card = LL.el("div", { class: "kpi", id: "kpi-" + id, "data-value": raw === null || raw === undefined ? "" : String(raw) },
      LL.el("div", { class: "label", text: label }), LL.el("div", { class: "value", text: value }));
    $("kpis").append(card);
  }

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
    $("status").textContent = "loading…";
    document.body.dataset.ready = "";
    try {
      // One request: every metric, each as its own endpoint answers it.
      const all = await LL.api(url, { key: state.key });
      const { clv, churn, retention, basket, nps, points } = all;
      render({ clv, churn, retention, basket, freq: all.frequency, top: all.top_customers, nps, points });
      $("status").textContent = `${basket.currency} · ${clv.period.from.slice(0, 10)} → ${clv.period.to.slice(0, 10)}`;
      document.body.dataset.ready = "1";
      startFeed();
    } catch (e) {
      $("status").replaceChildren(LL.el("span", { class: "error", text: `error: ${e.message}` }));
    }
  }

  function render({ clv, churn, retention, basket, freq, top, nps, points }) {
    $("kpis").replaceChildren();
    kpi("customers", "Customers (bought)", LL.int(clv.customers), clv.customers);
    kpi("revenue", `Revenue (${basket.currency})`, LL.int(clv.revenue), clv.revenue);
    kpi("aov", "Average order value", LL.int(basket.average_order_value), basket.average_order_value);
    kpi("clv", "CLV (mean)", LL.int(clv.clv_mean), clv.clv_mean);
    kpi("clv-median", "CLV (median)", LL.int(clv.clv_median), clv.clv_median);
    kpi("frequency", "Orders per customer", LL.num(freq.purchase_frequency), freq.purchase_frequency);
    kpi("repeat", "Repeat-purchase rate", LL.pct(freq.repeat_purchase_rate), freq.repeat_purchase_rate);
    kpi("churn", "Churn rate (period)", LL.pct(churn.churn_rate), churn.churn_rate);
    kpi("nps", "NPS", nps.nps === null ? "–" : LL.num(nps.nps, 1), nps.nps);
    kpi("liability", "Points outstanding", LL.int(points.outstanding_liability), points.outstanding_liability);
    kpi("redemption", "Redemption rate", LL.pct(points.redemption_rate), points.redemption_rate);
    kpi("breakage", "Breakage rate (expired ÷ issued)", LL.pct(points.breakage_rate), points.breakage_rate);

    const months = basket.trend.map((m) => m.month);
    draw("chart-basket", { type: "line", data: { labels: months, datasets: [
      { label: "revenue", data: basket.trend.map((m) => m.revenue), yAxisID: "y", borderColor: "#3b5bdb", backgroundColor: "#3b5bdb33", fill: true, tension: 0.25 },
      { label: "average order value", data: basket.trend.map((m) => m.average_order_value), yAxisID: "y1", borderColor: "#f08c00", tension: 0.25 },
    ] }, options: { scales: { y: { beginAtZero: true }, y1: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false } } } } });
    draw("chart-items", { type: "line", data: { labels: months, datasets: [
      { label: "items per order", data: basket.trend.map((m) => m.items_per_order), borderColor: "#2f9e44", tension: 0.25 }] },
      options: { scales: { y: { beginAtZero: true } } } });
    draw("chart-churn", { type: "line", data: { labels: churn.monthly.map((m) => m.month), datasets: [
      { label: "churn rate %", data: churn.monthly.map((m) => (m.churn_rate === null ? null : 100 * m.churn_rate)), borderColor: "#e03131", tension: 0.25 }] },
      options: { scales: { y: { beginAtZero: true } } } });
    draw("chart-nps", { type: "bar", data: { labels: nps.trend.map((m) => m.month), datasets: [
      { label: "NPS", data: nps.trend.map((m) => m.nps), backgroundColor: nps.trend.map((m) => ((m.nps || 0) >= 0 ? "#2f9e44" : "#e03131")) }] },
      options: { scales: { y: { suggestedMin: -100, suggestedMax: 100 } } } });
    draw("chart-clv", { type: "bar", data: { labels: clv.distribution.map((b) => `${LL.int(b.lo)}–${LL.int(b.hi)}`), datasets: [
      { label: "customers", data: clv.distribution.map((b) => b.count), backgroundColor: "#7048e8" }] } });
    draw("chart-frequency", { type: "bar", data: { labels: freq.orders_per_customer.map((d) => d.orders), datasets: [
      { label: "customers", data: freq.orders_per_customer.map((d) => d.customers), backgroundColor: "#1098ad" }] } });
    draw("chart-tiers", { type: "doughnut", data: { labels: points.tiers.map((t) => t.name), datasets: [
      { label: "active passes", data: points.tiers.map((t) => t.active), backgroundColor: ["#ced4da", "#adb5bd", "#fab005", "#7048e8", "#1098ad", "#e64980"] }] } });

    table($("points"), ["", "points"], [
      ["issued", LL.int(points.issued)], ["swapped in (exchange)", LL.int(points.swapped_in)],
      ["redeemed", LL.int(points.redeemed)], ["swapped out (exchange)", LL.int(points.swapped_out)],
      ["forfeited", LL.int(points.forfeited)], ["expired", LL.int(points.expired)],
      ["outstanding", LL.int(points.outstanding_liability)], ["redemption rate", LL.pct(points.redemption_rate)],
      ["breakage rate", LL.pct(points.breakage_rate)], ["books balance", points.books.balanced ? "yes" : `off by ${LL.int(points.books.difference)}`],
      [`gifts (${LL.int(points.gifts.count)})`, LL.int(points.gifts.points)],
      ["gift senders / receivers", `${LL.int(points.gifts.senders)} / ${LL.int(points.gifts.receivers)}`],
      ...points.tiers.map((t) => [`tier ${t.name} (active / all)`, `${LL.int(t.active)} / ${LL.int(t.passes)}`]),
    ]);
    const width = Math.max(0, ...retention.cohorts.map((c) => c.retention.length));
    const cohortRows = retention.cohorts.map((c) => [c.cohort, LL.int(c.size), ...Array.from({ length: width }, (_, k) => {
      const v = c.retention[k];
      if (v === undefined) return "";
      const td = LL.el("span", { text: LL.pct(v) });
      return td;
    })]);
    table($("cohorts"), ["cohort", "size", ...Array.from({ length: width }, (_, k) => `m+${k}`)], cohortRows);
    for (const tr of $("cohorts").querySelectorAll("tr")) {
      [...tr.children].slice(2).forEach((td) => {
        const v = parseFloat(td.textContent);
        if (!Number.isNaN(v)) td.style.background = `rgba(59, 91, 219, ${Math.min(0.85, v / 100)})`;
        if (v > 55) td.style.color = "#fff";
      });
    }
    const who = (r) => LL.el("span", { class: "addr", title: r.member, text: LL.short(r.member) });
    table($("top-spend"), ["customer", "spend", "orders"], top.by_spend.map((r) => [who(r), LL.int(r.spend), LL.int(r.orders)]));
    table($("top-orders"), ["customer", "orders", "spend"], top.by_orders.map((r) => [who(r), LL.int(r.orders), LL.int(r.spend)]));
  }

  async function poll() {
    try {
      const page = await LL.api(`/brands/${encodeURIComponent(state.brand)}/ledger?limit=25`, { key: state.key });
      $("feed-block").textContent = page.as_of_block === null ? "" : `as of block ${page.as_of_block}`;
      const rows = page.entries.map((e) => {
        const tr = LL.el("tr", {}, LL.el("td", { text: String(e.block_number) }), LL.el("td", { text: e.kind }),
          LL.el("td", { class: "addr", title: e.account, text: LL.short(e.account) }),
          LL.el("td", { class: "addr", title: e.counterparty || "", text: LL.short(e.counterparty || "") }),
          LL.el("td", { text: LL.int(e.amount) }), LL.el("td", { text: e.reason || e.memo || e.ref || "" }));
        if (state.feedTop && e.id > state.feedTop) tr.className = "new";
        return tr;
      });
      $("feed").replaceChildren(LL.el("tr", {}, ...["block", "kind", "account", "to", "points", "note"].map((h) => LL.el("th", { text: h }))), ...rows);
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
