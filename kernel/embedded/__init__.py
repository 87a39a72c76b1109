"""Servers keel runs itself when no URLs are configured: nats-server with
JetStream and PostgreSQL with pgvector, on loopback, data under ``./.keel/``."""

from kernel.embedded._process import (
    EmbeddedServerError,
    ServerBinaryNotFoundError,
    ServerNotRunningError,
    ServerStartError,
)
from kernel.embedded.cluster import ClusterNode, NatsCluster, cluster_config
from kernel.embedded.nats import DEFAULT_NATS_DIR, NatsServer, find_nats_server
from kernel.embedded.ports import free_port, port_is_open
from kernel.embedded.postgres import DEFAULT_POSTGRES_DIR, EmbeddedPostgres, find_pginstall
from kernel.embedded.servers import DEFAULT_DATA_DIR, EmbeddedServers, start_servers

__all__ = [
    "DEFAULT_DATA_DIR",
    "DEFAULT_NATS_DIR",
    "DEFAULT_POSTGRES_DIR",
    "ClusterNode",
    "EmbeddedPostgres",
    "EmbeddedServerError",
    "EmbeddedServers",
    "NatsCluster",
    "NatsServer",
    "ServerBinaryNotFoundError",
    "ServerNotRunningError",
    "ServerStartError",
    "cluster_config",
    "find_nats_server",
    "find_pginstall",
    "free_port",
    "port_is_open",
    "start_servers",
]
