"""``keel token``: mint a JWT for the gateway (local use, tests, scripts)."""

from __future__ import annotations

import argparse
import sys

from kernel import Command, KeelError, convert_config, load_config

from .auth import Role, mint, signing_key
from .config import GatewayConfig

__all__ = ["TOKEN_COMMAND", "parse_ttl"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_ttl(text: str) -> int:
    """``3600``, ``90s``, ``15m``, ``8h`` or ``7d`` as seconds."""
    t = text.strip().lower()
    unit = _UNITS.get(t[-1:]) if t else None
    number = t[:-1] if unit else t
    if not number.isdigit() or int(number) <= 0:
        raise argparse.ArgumentTypeError(f"--ttl {text!r}: use e.g. 3600, 90s, 15m, 8h or 7d")
    return int(number) * (unit or 1)


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--role", required=True, choices=[r.name for r in Role])
    p.add_argument("--ttl", type=parse_ttl, default=parse_ttl("1h"),
                   help="lifetime: 3600, 90s, 15m, 8h, 7d (default 1h)")
    p.add_argument("--sub", default="", help="who the token is for (default: $USER)")
    p.add_argument("--private-key", default="", metavar="PEM",
                   help="RS256: the private key file to sign with")


def _run(args: argparse.Namespace) -> int:
    import getpass

    config = load_config(args.config)
    cfg = convert_config(config.plugin_config("gateway"), GatewayConfig, prefix="plugin.gateway")
    try:
        key = signing_key(cfg, args.private_key)
    except KeelError as exc:
        print(f"keel: error: {exc}", file=sys.stderr)
        return 2
    print(mint(cfg, key, sub=args.sub or getpass.getuser(), role=args.role, ttl_s=args.ttl))
    return 0


TOKEN_COMMAND = Command("token", "mint a JWT bearer token for the gateway", _configure, _run)
