"""Passkeys through the API (a software authenticator; SQLite and PostgreSQL): join, several
passkeys per member, remove one, sign in with the other, step up with one; replayed, cloned
(counter gone back) and wrong-origin assertions are refused."""

from __future__ import annotations

from typing import Any

from ..api.conftest import Env
from .conftest import bearer, writer_alongside
from .softauthn import SoftPasskey


def _join(env: Env, pk: SoftPasskey) -> dict[str, Any]:
    opts = env.client.post("/auth/passkey/register/options").json()
    assert (
        opts["rp"]["id"] == "localhost"
        and opts["authenticatorSelection"]["residentKey"] == "required"
    )
    r = env.client.post(
        "/auth/passkey/register", json={"credential": pk.create(opts), "label": "phone"}
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def _login(env: Env, pk: SoftPasskey, **kw: Any) -> Any:
    opts = env.client.post("/auth/passkey/login/options").json()
    return env.client.post("/auth/passkey/login", json={"credential": pk.get(opts, **kw)})


def test_several_passkeys_then_remove_one(any_m_env: Env) -> None:
    env = any_m_env
    phone, laptop = SoftPasskey(), SoftPasskey()
    joined = _join(env, phone)
    assert joined["created"] is True
    h = bearer(joined["token"])
    opts = env.client.post("/auth/passkey/register/options", headers=h).json()
    assert [c["id"] for c in opts["excludeCredentials"]] == [_id(phone)]
    r = env.client.post(
        "/auth/passkey/register",
        json={"credential": laptop.create(opts), "label": "laptop"},
        headers=h,
    )
    assert (
        r.status_code == 200
        and r.json()["created"] is False
        and r.json()["member_id"] == joined["member_id"]
    )
    listed = env.client.get("/auth/passkeys", headers=h).json()
    assert sorted(p["label"] for p in listed) == ["laptop", "phone"]
    # Both sign in to the same member; then the phone is removed and stops working.
    for pk in (phone, laptop):
        r = _login(env, pk)
        assert r.status_code == 200 and r.json()["member_id"] == joined["member_id"]
    assert env.client.delete(f"/auth/passkeys/{_id(phone)}", headers=h).status_code == 200
    r = _login(env, phone)
    assert r.status_code == 401 and "not registered" in r.json()["detail"]
    assert _login(env, laptop).status_code == 200
    # The last way in cannot be removed (this member has no email).
    r = env.client.delete(f"/auth/passkeys/{_id(laptop)}", headers=h)
    assert r.status_code == 409 and r.json()["error"] == "last_sign_in"


def _id(pk: SoftPasskey) -> str:
    from .softauthn import b64u

    return b64u(pk.credential_id)


def test_replayed_cloned_and_foreign_assertions_are_refused(any_m_env: Env) -> None:
    env = any_m_env
    pk = SoftPasskey()
    _join(env, pk)
    opts = env.client.post("/auth/passkey/login/options").json()
    assertion = pk.get(opts)
    assert env.client.post("/auth/passkey/login", json={"credential": assertion}).status_code == 200
    r = env.client.post("/auth/passkey/login", json={"credential": assertion})  # replayed
    assert r.status_code == 401 and "used already" in r.json()["detail"]
    pk.sign_count = 0  # a cloned authenticator: its counter went back
    r = _login(env, pk)
    assert r.status_code == 401 and "refused" in r.json()["detail"]
    pk.sign_count = 100
    r = _login(env, pk, origin="http://evil.example")
    assert r.status_code == 401 and "refused" in r.json()["detail"]
    r = env.client.post("/auth/passkey/login", json={"credential": {"id": "x"}})
    assert r.status_code == 422


def test_step_up_with_a_passkey(any_m_env: Env) -> None:
    env = any_m_env
    pk, other = SoftPasskey(), SoftPasskey()
    h = bearer(_join(env, pk)["token"])
    h_other = bearer(_join(env, other)["token"])  # another member and their passkey
    theirs = env.client.post("/auth/step-up/options", headers=h_other).json()
    r = env.client.post("/auth/step-up", json={"credential": other.get(theirs)}, headers=h)
    assert r.status_code == 401  # B's own step-up does not make A's session fresh
    opts = env.client.post("/auth/step-up/options", headers=h).json()
    assert [c["id"] for c in opts["allowCredentials"]] == [_id(pk)]
    r = env.client.post("/auth/step-up", json={"credential": other.get(opts)}, headers=h)
    assert r.status_code == 401
    opts = env.client.post("/auth/step-up/options", headers=h).json()
    r = env.client.post("/auth/step-up", json={"credential": pk.get(opts)}, headers=h)
    assert r.status_code == 200 and r.json()["auth_at"] > 0


def test_sign_ins_while_another_process_writes_never_answer_503(m_env: Env) -> None:
    """SQLite: a passkey sign-in that read before it wrote failed at once ("database is
    locked", answered 503) whenever another writer committed in between; the bench found it
    beside a submitter. A writer with its own engine commits in a loop meanwhile."""
    env = m_env
    pk = SoftPasskey()
    member = _join(env, pk)["member_id"]
    with writer_alongside(env.settings.database_url) as writes:
        answers = [_login(env, pk) for _ in range(40)]
    assert writes[0] > 40  # the writer really ran alongside
    assert [r.status_code for r in answers] == [200] * 40, [r.text for r in answers if r.is_error]
    assert {r.json()["member_id"] for r in answers} == {member}
