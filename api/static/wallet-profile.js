// The wallet's profile card: the signed-in member reads, edits and erases their profile with
// the chosen brand (PUT/DELETE /customers/{address}/profile?brand=…, with their session).
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const FIELDS = ["name", "email", "phone", "birthday", "region", "channel"];
  const session = () => ({ token: sessionStorage.getItem("ll.session"), address: sessionStorage.getItem("ll.address") });
  const url = () => `/customers/${encodeURIComponent(session().address)}/profile?brand=${encodeURIComponent($("brand").value)}`;
  const say = (text, bad = false) => { $("profile-status").textContent = text; $("profile-status").className = bad ? "error" : "muted"; };

  async function load() {
    if ($("account").hidden || !$("brand").value || !session().token) return;
    $("profile-card").hidden = false;
    const { profile } = await LL.api(url(), { token: session().token });
    for (const f of FIELDS) $(`p-${f}`).value = (profile && profile[f]) || (f === "channel" ? "email" : "");
    $("p-consent").checked = Boolean(profile && profile.consent);
    say(profile ? (profile.consent ? `shared with the brand since ${LL.date(profile.consent_at)}` : "not shared with the brand") : "no profile yet");
  }

  async function save(ev) {
    ev.preventDefault();
    const body = { consent: $("p-consent").checked };
    for (const f of FIELDS) body[f] = $(`p-${f}`).value.trim() || null;
    try {
      await LL.api(url(), { token: session().token, method: "PUT", body });
      await load(); say("profile saved");
    } catch (e) { say(`not saved: ${e.message}`, true); }
  }

  async function erase() {
    if (!confirm("Erase your profile with this brand? Your points and history stay.")) return;
    try {
      await LL.api(url(), { token: session().token, method: "DELETE" });
      await load(); say("your personal data with this brand was erased");
    } catch (e) { say(`not erased: ${e.message}`, true); }
  }

  $("profile").addEventListener("submit", save);
  $("p-erase").addEventListener("click", erase);
  $("brand").addEventListener("change", () => load().catch((e) => say(e.message, true)));
  new MutationObserver(() => load().catch((e) => say(e.message, true))).observe($("account"), { attributes: true, attributeFilter: ["hidden"] });
})();
