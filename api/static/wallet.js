// The customer wallet: Sign-In with Ethereum (EIP-4361) through an injected provider
// (window.ethereum: a browser wallet, or the test's signer), then balance, tier, perks, history, gifts.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const s = { token: sessionStorage.getItem("ll.session"), address: sessionStorage.getItem("ll.address"), summary: null };

  const hex = (text) => "0x" + Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, "0")).join("");

  function siweMessage({ domain, address, uri, chainId, nonce, issuedAt, expiration }) {
    return `${domain} wants you to sign in with your Ethereum account:\n${address}\n\n` +
      "Sign in to Loyalty Ledger\n\n" +
      `URI: ${uri}\nVersion: 1\nChain ID: ${chainId}\nNonce: ${nonce}\nIssued At: ${issuedAt}\nExpiration Time: ${expiration}`;
  }

  async function signIn() {
    if (!window.ethereum) {
      $("status").textContent = "no Ethereum wallet in this browser: install one (e.g. MetaMask) and import the demo customer's key that scripts/run.sh printed";
      return;
    }
    $("status").textContent = "signing in…";
    try {
      const [address] = await window.ethereum.request({ method: "eth_requestAccounts" });
      const n = await LL.api("/auth/nonce");
      const now = new Date();
      const message = siweMessage({ domain: n.domain, address, uri: n.uri, chainId: n.chain_id, nonce: n.nonce,
        issuedAt: now.toISOString(), expiration: new Date(now.getTime() + 5 * 60000).toISOString() });
      const signature = await window.ethereum.request({ method: "personal_sign", params: [hex(message), address] });
      const session = await LL.api("/auth/verify", { method: "POST", body: { message, signature } });
      s.token = session.token; s.address = session.address;
      sessionStorage.setItem("ll.session", s.token); sessionStorage.setItem("ll.address", s.address);
      await refresh();
    } catch (e) {
      $("status").replaceChildren(LL.el("span", { class: "error", text: `sign-in failed: ${e.message}` }));
    }
  }

  async function refresh() {
    const auth = { token: s.token };
    const who = encodeURIComponent(s.address);
    try {
      s.summary = await LL.api(`/customers/${who}`, auth);
    } catch (e) {
      if (e.status === 401) { sessionStorage.removeItem("ll.session"); $("status").textContent = "session expired: sign in again"; return; }
      throw e;
    }
    const sel = $("brand");
    const chosen = sel.value || sessionStorage.getItem("ll.wallet.brand");
    sel.replaceChildren(...s.summary.programs.map((p) => LL.el("option", { value: p.brand_id, text: p.brand_id })));
    if (chosen && s.summary.programs.some((p) => p.brand_id === chosen)) sel.value = chosen;
    const brand = sel.value;
    const prog = s.summary.programs.find((p) => p.brand_id === brand);
    $("status").textContent = `signed in as ${LL.short(s.address)}`;
    $("address").textContent = s.address;
    $("balance").textContent = LL.int(prog ? prog.balance : 0);
    $("balance").dataset.value = String(prog ? prog.balance : 0);
    const pass = prog && prog.pass;
    $("tier").textContent = pass ? (pass.tier_name || `tier ${pass.tier}`) : "no pass";
    $("expiry").textContent = pass ? (pass.expires_at ? LL.date(pass.expires_at) + (pass.active ? "" : " (expired)") : "never") : "–";
    $("as-of").textContent = s.summary.as_of_block !== undefined ? `as of block ${s.summary.as_of_block}` : "";
    for (const id of ["account", "lots-card", "perks-card", "gift-card", "history-card"]) $(id).hidden = false;
    const [perks, history, expiry] = await Promise.all([
      LL.api(`/customers/${who}/perks?brand=${encodeURIComponent(brand)}`, auth),
      LL.api(`/customers/${who}/history?brand=${encodeURIComponent(brand)}&limit=50`, auth),
      LL.api(`/customers/${who}/points/expiry?brand=${encodeURIComponent(brand)}`, auth),
    ]);
    showLots(expiry);
    $("perks").replaceChildren(LL.el("tr", {}, ...["perk", "cost", "status"].map((h) => LL.el("th", { text: h }))),
      ...perks.map((p) => LL.el("tr", {}, LL.el("td", { text: p.perk.name, title: p.perk.description || "" }),
        LL.el("td", { text: LL.int(p.perk.point_cost) }),
        LL.el("td", {}, LL.el("span", { class: "pill", text: p.eligible ? "eligible" : (p.reasons[0] || {}).code || "not eligible" })))));
    if (!perks.length) $("perks").append(LL.el("tr", {}, LL.el("td", { class: "muted", text: "no perks yet" })));
    const me = s.address.toLowerCase();
    // Dates rather than blocks, and what happened in words: the gift's memo, the perk, the swap.
    $("history").replaceChildren(LL.el("tr", {}, ...["when (UTC)", "what", "with", "points"].map((h) => LL.el("th", { text: h }))),
      ...history.entries.map((e) => {
        const out = e.account === me && ["gift", "transfer", "redeem", "forfeit", "recovery", "swap_out"].includes(e.kind);
        const other = e.account === me ? e.counterparty : e.account;
        return LL.el("tr", {}, LL.el("td", { class: "when", title: `block ${e.block_number}`, text: LL.when(e.time) }),
          LL.el("td", { text: `${e.kind.replace("_", " ")}${e.note ? " · " + e.note : ""}` }),
          LL.el("td", { class: "addr", text: other ? LL.short(other) : "" }), LL.el("td", { text: (out ? "−" : "+") + LL.int(e.amount) }));
      }));
  }

  // Live lots soonest first (spent first, too), then the points that never expire.
  function showLots(expiry) {
    $("lots").replaceChildren(LL.el("tr", {}, ...["expires on", "points"].map((h) => LL.el("th", { text: h }))),
      ...expiry.lots.map((l) => LL.el("tr", {}, LL.el("td", { text: LL.date(l.expires_at_unix) }), LL.el("td", { text: LL.int(l.amount) }))));
    if (expiry.permanent > 0) $("lots").append(LL.el("tr", {}, LL.el("td", { text: "never" }), LL.el("td", { text: LL.int(expiry.permanent) })));
    $("lots-note").textContent = expiry.lots.length
      ? "Spending, gifts and swaps use the points that expire soonest first; a gift keeps its expiry date."
      : "None of your points expire.";
  }

  async function gift(ev) {
    ev.preventDefault();
    const brand = $("brand").value;
    $("gift-status").textContent = "preparing…";
    try {
      const body = { brand_id: brand, kind: "gift", to: $("gift-to").value.trim(), amount: parseInt($("gift-amount").value, 10), memo: $("gift-memo").value };
      const typed = await LL.api(`/customers/${encodeURIComponent(s.address)}/transfers/prepare`, { token: s.token, method: "POST", body });
      const signature = await window.ethereum.request({ method: "eth_signTypedData_v4", params: [s.address, JSON.stringify(typed)] });
      $("gift-status").textContent = "sending…";
      const tx = await LL.api(`/customers/${encodeURIComponent(s.address)}/transfers`, { token: s.token, method: "POST", body: { brand_id: brand, message: typed.message, signature } });
      $("gift-status").textContent = `sent in block ${tx.block_number} (${LL.short(tx.tx_hash)})`;
      setTimeout(refresh, 1500);
    } catch (e) {
      $("gift-status").replaceChildren(LL.el("span", { class: "error", text: `gift failed: ${e.message}` }));
    }
  }

  $("connect").addEventListener("click", signIn);
  $("brand").addEventListener("change", () => { sessionStorage.setItem("ll.wallet.brand", $("brand").value); refresh(); });
  $("gift").addEventListener("submit", gift);
  if (s.token && s.address) refresh().catch(() => {});
})();
