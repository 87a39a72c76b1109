"""Gateway: the HTTP API, live dashboard, JWT auth and Prometheus metrics of keel."""

from .auth import AuthError, Forbidden, MissingSecretError, Principal, Role, Verifier, mint
from .config import GatewayConfig
from .shell import GatewayPlugin
from .view import LiveView

__all__ = [
    "AuthError",
    "Forbidden",
    "GatewayConfig",
    "GatewayPlugin",
    "LiveView",
    "MissingSecretError",
    "Principal",
    "Role",
    "Verifier",
    "mint",
]
