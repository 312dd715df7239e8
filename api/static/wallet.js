// The customer wallet. Sign in with a passkey or an emailed code (a managed key signs for the
// member), or with Ethereum (EIP-4361) through an injected provider (window.ethereum); then
// balance, tier, member card, perks with Redeem, vouchers, history, gifts, sessions, sign-out.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const s = { token: sessionStorage.getItem("ll.session"), address: sessionStorage.getItem("ll.address"), summary: null, member: null };
  const WAIT = { Prefer: "wait=20" };

  // --- passkeys: WebAuthn JSON <-> the browser's ArrayBuffers ---------------------------
  const b64u = {
    enc: (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""),
    dec: (str) => Uint8Array.from(atob(str.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((str.length + 3) % 4)), (c) => c.charCodeAt(0)),
  };
  const ids = (list) => (list || []).map((c) => ({ ...c, id: b64u.dec(c.id) }));
  function credJSON(cred) {
    const r = cred.response;
    const out = { id: cred.id, rawId: b64u.enc(cred.rawId), type: cred.type, clientExtensionResults: cred.getClientExtensionResults(),
      authenticatorAttachment: cred.authenticatorAttachment, response: { clientDataJSON: b64u.enc(r.clientDataJSON) } };
    if (r.attestationObject) Object.assign(out.response, { attestationObject: b64u.enc(r.attestationObject), transports: r.getTransports ? r.getTransports() : [] });
    else Object.assign(out.response, { authenticatorData: b64u.enc(r.authenticatorData), signature: b64u.enc(r.signature), userHandle: r.userHandle ? b64u.enc(r.userHandle) : null });
    return out;
  }
  async function createPasskey(opts) {
    const publicKey = { ...opts, challenge: b64u.dec(opts.challenge), user: { ...opts.user, id: b64u.dec(opts.user.id) }, excludeCredentials: ids(opts.excludeCredentials) };
    return credJSON(await navigator.credentials.create({ publicKey }));
  }
  async function usePasskey(opts) {
    const publicKey = { ...opts, challenge: b64u.dec(opts.challenge), allowCredentials: ids(opts.allowCredentials) };
    return credJSON(await navigator.credentials.get({ publicKey }));
  }
  const say = (id, text, error) => $(id).replaceChildren(error ? LL.el("span", { class: "error", text }) : text);

  function started(session) {
    s.token = session.token; s.address = session.address;
    sessionStorage.setItem("ll.session", s.token); sessionStorage.setItem("ll.address", s.address);
    sessionStorage.setItem("ll.member", "1");
    return refresh();
  }
  async function passkeyJoin() {
    say("signin-status", "creating your passkey…");
    try {
      const opts = await LL.api("/auth/passkey/register/options", { method: "POST" });
      await started(await LL.api("/auth/passkey/register", { method: "POST", body: { credential: await createPasskey(opts), label: "this device" } }));
    } catch (e) { say("signin-status", `could not join: ${e.message}`, true); }
  }
  async function passkeyLogin() {
    say("signin-status", "waiting for your passkey…");
    try {
      const opts = await LL.api("/auth/passkey/login/options", { method: "POST" });
      await started(await LL.api("/auth/passkey/login", { method: "POST", body: { credential: await usePasskey(opts) } }));
    } catch (e) { say("signin-status", `sign-in failed: ${e.message}`, true); }
  }
  async function emailStart(ev) {
    ev.preventDefault();
    try {
      await LL.api("/auth/email/start", { method: "POST", body: { email: $("email").value } });
      $("code-form").hidden = false; say("signin-status", "we mailed you a 6-digit code (valid 10 minutes)");
    } catch (e) { say("signin-status", e.message, true); }
  }
  async function emailVerify(ev) {
    ev.preventDefault();
    try {
      await started(await LL.api("/auth/email/verify", { method: "POST", body: { email: $("email").value, code: $("code").value.trim() } }));
    } catch (e) { say("signin-status", e.message, true); }
  }
  // A fresh proof before a large gift or a key export: the passkey, or a mailed code.
  async function stepUp() {
    const opts = await LL.api("/auth/step-up/options", { token: s.token, method: "POST" });
    if (!opts.email) return LL.api("/auth/step-up", { token: s.token, method: "POST", body: { credential: await usePasskey(opts) } });
    $("stepup-card").hidden = false;
    const code = await new Promise((done) => { $("stepup-form").onsubmit = (ev) => { ev.preventDefault(); done($("stepup-code").value.trim()); }; });
    $("stepup-card").hidden = true;
    return LL.api("/auth/step-up", { token: s.token, method: "POST", body: { code } });
  }
  async function withStepUp(fn) {
    try { return await fn(); } catch (e) {
      if (!e.data || e.data.error !== "step_up_required") throw e;
      await stepUp(); return fn();
    }
  }
  async function signOut() {
    try { await LL.api("/auth/sign-out", { token: s.token, method: "POST" }); } catch (_) { /* already gone */ }
    for (const k of ["ll.session", "ll.address", "ll.member"]) sessionStorage.removeItem(k);
    location.reload();
  }

  const hex = (text) => "0x" + Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, "0")).join("");

  function siweMessage({ domain, address, uri, chainId, nonce, issuedAt, expiration }) {
    return `${domain} wants you to sign in with your Ethereum account:\n${address}\n\n` +
      "Sign in to Loyalty Ledger\n\n" +
      `URI: ${uri}\nVersion: 1\nChain ID: ${chainId}\nNonce: ${nonce}\nIssued At: ${issuedAt}\nExpiration Time: ${expiration}`;
  }

  async function signIn() {
    if (!window.ethereum) {
      say("signin-status", "no Ethereum wallet in this browser: join with a passkey or your email instead (or install a wallet such as MetaMask)");
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
      sessionStorage.removeItem("ll.member");
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
      if (e.status === 401) { sessionStorage.removeItem("ll.session"); $("signin").hidden = false; $("status").textContent = "session ended: sign in again"; return; }
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
    for (const id of ["account", "lots-card", "perks-card", "gift-card", "history-card", "security-card", "sign-out"]) $(id).hidden = false;
    $("signin").hidden = true;
    s.member = null;
    if (sessionStorage.getItem("ll.member")) try { s.member = await LL.api(`/members/me?brand=${encodeURIComponent(brand)}`, auth); } catch (_) { /* a wallet without an account */ }
    showMember(brand);
    showSecurity();
    const [perks, history, expiry] = await Promise.all([
      LL.api(`/customers/${who}/perks?brand=${encodeURIComponent(brand)}`, auth),
      LL.api(`/customers/${who}/history?brand=${encodeURIComponent(brand)}&limit=50`, auth),
      LL.api(`/customers/${who}/points/expiry?brand=${encodeURIComponent(brand)}`, auth),
    ]);
    showLots(expiry);
    $("perks").replaceChildren(LL.el("tr", {}, ...["perk", "cost", "status", ""].map((h) => LL.el("th", { text: h }))),
      ...perks.map((p) => LL.el("tr", {}, LL.el("td", { text: p.perk.name, title: p.perk.description || "" }),
        LL.el("td", { text: LL.int(p.perk.point_cost) }),
        LL.el("td", {}, LL.el("span", { class: "pill", text: p.eligible ? "eligible" : (p.reasons[0] || {}).code || "not eligible" })),
        LL.el("td", {}, redeemButton(p)))));
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

  function redeemButton(p) {
    const managed = Boolean(s.member && s.member.managed_key);
    if (!p.eligible || (!managed && !window.ethereum)) return "";
    const b = LL.el("button", { class: "redeem", "data-perk": String(p.perk.id), text: "Redeem" });
    b.addEventListener("click", async () => {
      b.disabled = true; say("voucher-new", managed ? "redeeming…" : "confirm the redemption in your wallet…");
      try {
        const out = await redeemPerk(p.perk, managed);
        if (out.voucher) delete pending[p.perk.id];
        say("voucher-new", out.voucher ? `your voucher for ${out.voucher.perk_name}: ${out.voucher.code}`
          : out.redemption.status === "pending" ? "still confirming: press Redeem again in a moment for your voucher" : `not redeemed: ${out.redemption.status}`);
        await refresh();
      } catch (e) { say("voucher-new", `could not redeem: ${e.message}`, true); b.disabled = false; }
    });
    return b;
  }

  // A managed key's consent is signed on the server; with a wallet of your own you sign the
  // burn's forward request here (EIP-712, relayed gas-free), and get the same voucher.
  // One Idempotency-Key per perk until its voucher comes: pressing Redeem again while the burn
  // is still confirming asks for the same redemption's voucher, never a second burn.
  const pending = {};
  async function redeemPerk(perk, managed) {
    pending[perk.id] = pending[perk.id] || `voucher-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const headers = { ...WAIT, "Idempotency-Key": pending[perk.id] };
    const url = `/members/me/perks/${perk.id}/redeem`;
    if (managed || !perk.point_cost) return LL.api(url, { token: s.token, method: "POST", headers });
    const typed = await LL.api(`/perks/${perk.id}/redeem/prepare`, { token: s.token, method: "POST", body: {} });
    const signature = await window.ethereum.request({ method: "eth_signTypedData_v4", params: [s.address, JSON.stringify(typed)] });
    say("voucher-new", "redeeming…");
    return LL.api(url, { token: s.token, method: "POST", headers, body: { forward: { message: typed.message, signature } } });
  }

  async function showMember(brand) {
    const m = s.member;  // none for a wallet of your own: no member card, but vouchers
    $("member-card").hidden = !m; $("vouchers-card").hidden = false;
    if (m) {
      $("member-id").textContent = m.member_id; $("card-qr").src = m.card_qr;
      $("join").hidden = m.joined; $("join").textContent = `Join ${brand}`;  // each brand once
    }
    const vs = await LL.api("/members/me/vouchers", { token: s.token });
    $("vouchers").replaceChildren(LL.el("tr", {}, ...["code", "perk", "state", "valid until", ""].map((h) => LL.el("th", { text: h }))),
      ...vs.map((v) => LL.el("tr", { class: `voucher ${v.state}` }, LL.el("td", { class: "code", text: v.code }), LL.el("td", { text: v.perk_name || "" }),
        LL.el("td", { class: "state", text: v.state }), LL.el("td", { text: LL.date(v.expires_at) }),
        LL.el("td", {}, v.state === "open" ? LL.el("img", { src: v.qr, width: "96", height: "96", alt: `QR of ${v.code}` }) : ""))));
    if (!vs.length) $("vouchers").append(LL.el("tr", {}, LL.el("td", { class: "muted", text: "no vouchers yet: redeem a perk" })));
  }

  async function showSecurity() {
    const auth = { token: s.token };
    const sessions = await LL.api("/auth/sessions", auth);
    $("sessions").replaceChildren(LL.el("tr", {}, ...["signed in", "how", "device", ""].map((h) => LL.el("th", { text: h }))),
      ...sessions.map((x) => {
        const b = x.current ? LL.el("span", { class: "muted", text: "this one" }) : LL.el("button", { text: "sign out" });
        if (!x.current) b.addEventListener("click", async () => { await LL.api(`/auth/sessions/${x.session_id}`, { ...auth, method: "DELETE" }); showSecurity(); });
        return LL.el("tr", {}, LL.el("td", { text: LL.date(x.created_at) }), LL.el("td", { text: x.method }), LL.el("td", { text: (x.client || "").slice(0, 24) }), LL.el("td", {}, b));
      }));
    $("pk-add").hidden = !s.member;
    if (!s.member) { $("passkeys").replaceChildren(); return; }
    const keys = await LL.api("/auth/passkeys", auth);
    $("passkeys").replaceChildren(LL.el("tr", {}, ...["passkey", "added", ""].map((h) => LL.el("th", { text: h }))),
      ...keys.map((k) => {
        const b = LL.el("button", { text: "remove" });
        b.addEventListener("click", async () => { await LL.api(`/auth/passkeys/${encodeURIComponent(k.credential_id)}`, { ...auth, method: "DELETE" }); showSecurity(); });
        return LL.el("tr", { class: "passkey" }, LL.el("td", { text: k.label || "passkey" }), LL.el("td", { text: LL.date(k.created_at) }), LL.el("td", {}, b));
      }));
  }

  async function addPasskey() {
    const opts = await LL.api("/auth/passkey/register/options", { token: s.token, method: "POST" });
    await LL.api("/auth/passkey/register", { token: s.token, method: "POST", body: { credential: await createPasskey(opts), label: "another device" } });
    showSecurity();
  }

  async function join() {
    const brand = $("brand").value;
    say("join-status", "joining…");
    try {
      await LL.api(`/members/me/join/${encodeURIComponent(brand)}`, { token: s.token, method: "POST", headers: WAIT });
      say("join-status", `you are a member of ${brand}`);
      await refresh();
    } catch (e) { say("join-status", `could not join: ${e.message}`, true); }
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
    if (s.member && s.member.managed_key) return managedGift(brand);
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

  async function managedGift(brand) {
    const body = { brand_id: brand, to: $("gift-to").value.trim(), amount: parseInt($("gift-amount").value, 10), memo: $("gift-memo").value };
    try {
      const tx = await withStepUp(() => LL.api("/members/me/gifts", { token: s.token, method: "POST", body, headers: WAIT }));
      $("gift-status").textContent = tx.block_number ? `sent in block ${tx.block_number}` : "queued: it will show in your history shortly";
      setTimeout(refresh, 1500);
    } catch (e) { $("gift-status").replaceChildren(LL.el("span", { class: "error", text: `gift failed: ${e.message}` })); }
  }

  $("connect").addEventListener("click", signIn);
  $("pk-join").addEventListener("click", passkeyJoin);
  $("pk-login").addEventListener("click", passkeyLogin);
  $("pk-add").addEventListener("click", () => addPasskey().catch((e) => alert(e.message)));
  $("email-form").addEventListener("submit", emailStart);
  $("code-form").addEventListener("submit", emailVerify);
  $("join").addEventListener("click", join);
  $("sign-out").addEventListener("click", signOut);
  $("brand").addEventListener("change", () => { sessionStorage.setItem("ll.wallet.brand", $("brand").value); refresh(); });
  $("gift").addEventListener("submit", gift);
  if (s.token && s.address) refresh().catch(() => {});
})();
