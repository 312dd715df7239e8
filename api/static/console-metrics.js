// The console's metrics page for a period (presets or any dates): points issued and redeemed
// per month (/insights/points `flows`), and earnings split by rule, channel and store
// (/insights/earnings-split); the perk results by tier and the dashboard links stay below.
"use strict";
(() => {
  const C = window.LLC;
  const { $, api, b, fill, button, guarded, status } = C;
  const day = (d) => d.toISOString().slice(0, 10);

  function presets() {
    const now = new Date(), y = now.getUTCFullYear(), mo = now.getUTCMonth();
    const m = (k) => new Date(Date.UTC(y, mo + k, 1));
    const tomorrow = new Date(Date.UTC(y, mo, now.getUTCDate() + 1));
    return [["This month", m(0), tomorrow], ["Last month", m(-1), m(0)], ["Last 3 months", m(-3), m(0)],
      ["Last 12 months", m(-12), m(0)], ["Year to date", new Date(Date.UTC(y, 0, 1)), tomorrow]];
  }

  async function period() {
    const from = $("period-from").value, to = $("period-to").value;
    const q = `from=${from}&to=${to}`;
    const [points, ...splits] = await Promise.all([api(`${b()}/insights/points?${q}`),
      ...["rule", "channel", "store"].map((by) => api(`${b()}/insights/earnings-split?by=${by}&${q}`))]);
    fill("flows", ["month", "issued", "redeemed", "expired", "forfeited", "swapped in", "swapped out", "redemption rate"],
      [...points.flows.trend.map((f) => [f.month + (f.partial ? " (to date)" : ""), LL.int(f.issued), LL.int(f.redeemed),
        LL.int(f.expired), LL.int(f.forfeited), LL.int(f.swapped_in), LL.int(f.swapped_out), LL.pct(f.redemption_rate)]),
      ["total", LL.int(points.flows.issued), LL.int(points.flows.redeemed), LL.int(points.flows.expired), LL.int(points.flows.forfeited),
        LL.int(points.flows.swapped_in), LL.int(points.flows.swapped_out), LL.pct(points.flows.redemption_rate)]]);
    ["rule", "channel", "store"].forEach((by, i) => fill(`split-${by}`, [by, "points", "earnings", "members"],
      splits[i].map((r) => [r[by] ?? "(none)", LL.int(r.points), LL.int(r.earnings), LL.int(r.members)]), "no earnings in the period"));
    status(`metrics for ${from} to ${to} (exclusive)`);
  }

  const perkResults = C.views.metrics;
  C.views.metrics = async () => {
    const list = presets();
    $("period-presets").replaceChildren(...list.map(([label, from, to]) => button(label, () => guarded(async () => {
      $("period-from").value = day(from); $("period-to").value = day(to); await period();
    }), "secondary preset-button")));
    if (!$("period-from").value) { $("period-from").value = day(list[3][1]); $("period-to").value = day(list[0][2]); }
    await Promise.all([perkResults(), period()]);
  };
  $("period-form").onsubmit = (ev) => { ev.preventDefault(); guarded(period); };
})();
