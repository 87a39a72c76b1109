"""JWT bearer authentication (PyJWT) and the three roles.

Roles are ordered: ``viewer`` reads, ``trader`` also enters and cancels
orders, ``admin`` also halts and resumes. A token carries ``sub`` (who),
``role``, ``iss``, ``aud``, ``iat``, ``nbf`` and ``exp``; all are required
and checked. HS256 uses a shared secret, RS256 a public key to verify (and
the private key only where tokens are minted).
"""

from __future__ import annotations

import enum
import os
import secrets
import time
from pathlib import Path
from typing import Any

import jwt
import msgspec

from kernel import KeelError

from .config import GatewayConfig

__all__ = [
    "AuthError",
    "Forbidden",
    "MissingSecretError",
    "Principal",
    "Role",
    "Verifier",
    "load_verifier",
    "mint",
    "signing_key",
]

_REQUIRED = ["exp", "nbf", "iat", "iss", "aud", "sub"]


class Role(enum.IntEnum):
    viewer = 1
    trader = 2
    admin = 3


class Principal(msgspec.Struct, frozen=True):
    """The authenticated caller: ``sub`` goes into the commands it publishes."""

    sub: str
    role: Role


class AuthError(Exception):
    """401: no usable token; ``reason`` says why (never echoes the token)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Forbidden(Exception):
    """403: a valid token whose role is below what the endpoint needs."""

    def __init__(self, role: Role, needed: Role) -> None:
        super().__init__(f"role {role.name} may not do this; it needs {needed.name}")
        self.role = role
        self.needed = needed


class MissingSecretError(KeelError):
    """No JWT key material: the gateway refuses to serve (outside dev mode)."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"gateway: no JWT {what}; set it (see `[plugin.gateway]` and README 'Gateway'), "
            "or set `dev = true` for a generated local secret"
        )
        self.what = what


class _Secret:
    """Key material that never shows in a repr, a log line or a traceback."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "<secret>"


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError as exc:
        raise MissingSecretError(f"key file {path!r} ({exc.strerror})") from None


def _dev_secret(cfg: GatewayConfig) -> str:
    path = Path(cfg.dev_secret_file)
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value)
    return value


def verification_key(cfg: GatewayConfig, env: dict[str, str] | None = None) -> _Secret:
    """The key tokens are verified with, from the environment, a file, or (dev) generated."""
    env = dict(os.environ) if env is None else env
    if cfg.jwt_algorithm == "HS256":
        if env.get("KEEL_JWT_SECRET"):
            return _Secret(env["KEEL_JWT_SECRET"])
        if cfg.jwt_secret_file:
            return _Secret(_read(cfg.jwt_secret_file))
        if cfg.dev:
            return _Secret(_dev_secret(cfg))
        raise MissingSecretError("secret: KEEL_JWT_SECRET or jwt_secret_file")
    if env.get("KEEL_JWT_PUBLIC_KEY"):
        return _Secret(env["KEEL_JWT_PUBLIC_KEY"])
    if cfg.jwt_public_key_file:
        return _Secret(_read(cfg.jwt_public_key_file))
    raise MissingSecretError("public key: KEEL_JWT_PUBLIC_KEY or jwt_public_key_file")


def signing_key(cfg: GatewayConfig, private_key_file: str = "",
                env: dict[str, str] | None = None) -> _Secret:
    """The key tokens are minted with: the HS256 secret, or an RS256 private key file."""
    if cfg.jwt_algorithm == "HS256":
        return verification_key(cfg, env)
    if not private_key_file:
        raise MissingSecretError("private key: pass --private-key FILE to mint RS256 tokens")
    return _Secret(_read(private_key_file))


class Verifier:
    """Checks a bearer token: signature, algorithm, issuer, audience, exp, nbf, role."""

    #: Tokens verified recently; a hit re-checks only the time window (bounded).
    CACHE = 1024

    def __init__(self, cfg: GatewayConfig, key: _Secret) -> None:
        self._cfg = cfg
        self._key = key
        self._seen: dict[str, tuple[Principal, float, float]] = {}

    def verify(self, authorization: str | None) -> Principal:
        if not authorization:
            raise AuthError("missing bearer token (send `Authorization: Bearer <token>`)")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthError("the Authorization header must be `Bearer <token>`")
        hit = self._seen.get(token)
        if hit is not None:
            who, nbf, exp = hit
            now = time.time()  # keel: ambient-ok (token validity is wall-clock)
            leeway = self._cfg.jwt_leeway_s
            if nbf - leeway <= now < exp + leeway:
                return who
            del self._seen[token]
        who, nbf, exp = self._decode(token)
        if len(self._seen) >= self.CACHE:
            self._seen.clear()
        self._seen[token] = (who, nbf, exp)
        return who

    def _decode(self, token: str) -> tuple[Principal, float, float]:
        cfg = self._cfg
        try:
            claims = jwt.decode(
                token, self._key.value, algorithms=[cfg.jwt_algorithm],
                audience=cfg.jwt_audience, issuer=cfg.jwt_issuer, leeway=cfg.jwt_leeway_s,
                options={"require": _REQUIRED},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("token expired") from None
        except jwt.ImmatureSignatureError:
            raise AuthError("token not valid yet (nbf is in the future)") from None
        except jwt.InvalidAudienceError:
            raise AuthError(f"wrong audience (this gateway is {cfg.jwt_audience!r})") from None
        except jwt.InvalidIssuerError:
            raise AuthError(f"wrong issuer (this gateway trusts {cfg.jwt_issuer!r})") from None
        except jwt.InvalidSignatureError:
            raise AuthError("bad signature") from None
        except jwt.MissingRequiredClaimError as exc:
            raise AuthError(f"token lacks the {exc.claim!r} claim") from None
        except jwt.InvalidAlgorithmError:
            raise AuthError(f"wrong algorithm (this gateway takes {cfg.jwt_algorithm})") from None
        except jwt.PyJWTError as exc:
            raise AuthError(f"invalid token: {type(exc).__name__}") from None
        role = claims.get("role")
        if role not in Role.__members__:
            raise AuthError(f"unknown role {role!r} (viewer, trader or admin)")
        sub = claims["sub"]
        if not isinstance(sub, str) or not sub:
            raise AuthError("the 'sub' claim must name the caller")
        return Principal(sub=sub, role=Role[role]), float(claims["nbf"]), float(claims["exp"])


def load_verifier(cfg: GatewayConfig, env: dict[str, str] | None = None) -> Verifier:
    """A ``Verifier`` with key material from env/file/dev; ``MissingSecretError`` if none."""
    return Verifier(cfg, verification_key(cfg, env))


def mint(cfg: GatewayConfig, key: Any, *, sub: str, role: str, ttl_s: float,
         now: float | None = None, not_before_s: float = 0.0) -> str:
    """A signed token for ``sub`` with ``role``, valid ``ttl_s`` seconds from now."""
    if role not in Role.__members__:
        raise ValueError(f"role must be viewer, trader or admin, not {role!r}")
    t = int(time.time() if now is None else now)  # keel: ambient-ok (tokens are wall-clock)
    claims = {"sub": sub, "role": role, "iss": cfg.jwt_issuer, "aud": cfg.jwt_audience,
              "iat": t, "nbf": t + int(not_before_s), "exp": t + int(ttl_s)}
    value = key.value if isinstance(key, _Secret) else key
    return jwt.encode(claims, value, algorithm=cfg.jwt_algorithm)
