"""JWT checks (HS256 and RS256), secrets handling, `keel token`, refusal to serve
without key material."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import jwt
import msgspec
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kernel import LiveClock, MemoryBus, PluginRunner
from plugins.gateway import (
    AuthError,
    GatewayConfig,
    GatewayPlugin,
    MissingSecretError,
    Role,
    Verifier,
    mint,
)
from plugins.gateway.auth import load_verifier, verification_key
from plugins.gateway.cli import parse_ttl

ROOT = Path(__file__).resolve().parents[3]
HS = GatewayConfig()
SECRET = "s" * 40


def bearer(token: str) -> str:
    return f"Bearer {token}"


def test_hs256_roles_and_every_refusal_reason() -> None:
    v = Verifier(HS, verification_key(HS, {"KEEL_JWT_SECRET": SECRET}))
    for role in Role:
        who = v.verify(bearer(mint(HS, SECRET, sub="amy", role=role.name, ttl_s=60)))
        assert (who.sub, who.role) == ("amy", role)
    now = time.time()  # keel: ambient-ok (tokens are wall-clock)
    cases = {
        "token expired": mint(HS, SECRET, sub="a", role="admin", ttl_s=5, now=now - 100),
        "token not valid yet (nbf is in the future)":
            mint(HS, SECRET, sub="a", role="admin", ttl_s=600, not_before_s=300),
        "wrong issuer (this gateway trusts 'keel')":
            mint(msgspec.structs.replace(HS, jwt_issuer="evil"), SECRET, sub="a",
                 role="admin", ttl_s=60),
        "bad signature": mint(HS, "x" * 40, sub="a", role="admin", ttl_s=60),
        "unknown role 'root' (viewer, trader or admin)":
            jwt.encode({"sub": "a", "role": "root", "iss": "keel", "aud": "keel-gateway",
                        "iat": int(now), "nbf": int(now), "exp": int(now) + 60}, SECRET,
                       algorithm="HS256"),
        "token lacks the 'exp' claim":
            jwt.encode({"sub": "a", "role": "admin", "iss": "keel", "aud": "keel-gateway",
                        "iat": int(now), "nbf": int(now)}, SECRET, algorithm="HS256"),
    }
    for reason, token in cases.items():
        with pytest.raises(AuthError) as err:
            v.verify(bearer(token))
        assert err.value.reason == reason
    with pytest.raises(AuthError, match="must be `Bearer"):
        v.verify("Basic abc")
    # Leeway: a token that expired 5 s ago still passes with the default 10 s leeway.
    assert v.verify(bearer(mint(HS, SECRET, sub="a", role="viewer", ttl_s=5, now=now - 10)))


def test_rs256_verifies_with_the_public_key_and_refuses_hs256_tricks(tmp_path: Path) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    (tmp_path / "pub.pem").write_text(public)
    cfg = GatewayConfig(jwt_algorithm="RS256", jwt_public_key_file=str(tmp_path / "pub.pem"))
    v = load_verifier(cfg, env={})
    assert v.verify(bearer(mint(cfg, pem, sub="ops", role="admin", ttl_s=60))).role is Role.admin
    # An HS256 token is refused by an RS256 gateway, whatever it was signed with.
    forged = jwt.encode({"sub": "x", "role": "admin", "iss": "keel", "aud": "keel-gateway",
                         "iat": 0, "nbf": 0, "exp": 2**40}, "k" * 40, algorithm="HS256")
    with pytest.raises(AuthError):
        v.verify(bearer(forged))


def test_no_secret_outside_dev_mode_refuses_and_dev_mode_makes_one(tmp_path: Path) -> None:
    with pytest.raises(MissingSecretError, match="KEEL_JWT_SECRET"):
        verification_key(HS, env={})
    with pytest.raises(MissingSecretError, match="public key"):
        verification_key(GatewayConfig(jwt_algorithm="RS256"), env={})
    dev = GatewayConfig(dev=True, dev_secret_file=str(tmp_path / "dev" / "secret"))
    first = verification_key(dev, env={})
    assert repr(first) == "<secret>" and first.value not in repr(first)
    mode = stat.S_IMODE((tmp_path / "dev" / "secret").stat().st_mode)
    assert mode == 0o600
    assert verification_key(dev, env={}).value == first.value, "reused, not regenerated"


async def test_gateway_refuses_to_serve_without_a_secret(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    monkeypatch.delenv("KEEL_JWT_SECRET", raising=False)
    bus = MemoryBus()
    runner = PluginRunner(GatewayPlugin, GatewayConfig(port=0), bus=bus, clock=LiveClock(),
                          tracing=False)
    await runner.start(announce=False)
    assert runner._source is not None
    await asyncio.wait_for(asyncio.shield(runner._source), 10)
    gw = runner.plugin
    assert isinstance(gw, GatewayPlugin) and not gw.ready.is_set() and gw.port == 0
    assert runner.stats.state == "failed" and "KEEL_JWT_SECRET" in runner.stats.last_error
    await runner.stop(announce=False)
    await bus.close()


def test_parse_ttl() -> None:
    assert [parse_ttl(t) for t in ("90", "90s", "15m", "8h", "7d")] == [
        90, 90, 900, 28800, 604800]
    for bad in ("0", "-5", "1w", "", "h"):
        with pytest.raises(Exception, match="--ttl"):
            parse_ttl(bad)


def test_keel_token_mints_a_token_the_gateway_accepts(tmp_path: Path) -> None:
    env = {**os.environ, "KEEL_JWT_SECRET": SECRET, "KEEL_CONFIG": str(tmp_path / "k.toml")}
    (tmp_path / "k.toml").write_text("")
    out = subprocess.run([sys.executable, "-m", "kernel.cli", "token", "--role", "trader",
                          "--ttl", "15m", "--sub", "carol"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    who = Verifier(HS, verification_key(HS, {"KEEL_JWT_SECRET": SECRET})).verify(
        bearer(out.stdout.strip()))
    assert (who.sub, who.role) == ("carol", Role.trader)
    claims = jwt.decode(out.stdout.strip(), SECRET, algorithms=["HS256"],
                        audience="keel-gateway")
    assert claims["exp"] - claims["iat"] == 900
    assert SECRET not in out.stdout + out.stderr
    env.pop("KEEL_JWT_SECRET")
    bad = subprocess.run([sys.executable, "-m", "kernel.cli", "token", "--role", "admin"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "KEEL_JWT_SECRET" in bad.stderr


def test_a_cached_token_still_expires() -> None:
    strict = msgspec.structs.replace(HS, jwt_leeway_s=0.0)
    v = Verifier(strict, verification_key(strict, {"KEEL_JWT_SECRET": SECRET}))
    token = mint(strict, SECRET, sub="a", role="viewer", ttl_s=1)
    assert v.verify(bearer(token)).sub == "a"
    assert v.verify(bearer(token)).sub == "a"  # from the cache
    time.sleep(1.1)
    with pytest.raises(AuthError, match="expired"):
        v.verify(bearer(token))
