"""Generates ``users.conf``: one NATS user per keel plugin, allowed only its own subjects.

Run ``python deploy/nats/permissions.py > deploy/nats/users.conf`` after changing
the table below (a test checks the committed file matches). Passwords are never
in the file: each is read by nats-server from the environment variable
``KEEL_NATS_PASSWORD_<USER>`` (e.g. ``KEEL_NATS_PASSWORD_RISK``); keel's
``[nats_auth.<plugin>]`` config points each plugin at its user and password.

What the rules give (stream ``KEEL``):

* publish: each plugin only the subjects of the events it produces, plus its own
  lifecycle subjects (``keel.sys.*.<name>``, timers, dead letters, snapshots).
  Only brokers publish fills, only risk accepts/rejects and the trading state,
  only the gateway and operators halt and resume.
* read: a plugin's inputs reach it through its own durable consumer
  (``$JS.API.CONSUMER.*.KEEL.<name>``, acks on ``$JS.ACK.KEEL.<name>.>``); it can
  neither create nor pull another plugin's consumer, nor subscribe to any
  logged subject directly, nor ask other plugins' queries (the gateway and
  operators may). Replies go to a per-user inbox (``_INBOX_<user>.>``).
* not enforceable by subject: restart recovery reads the plugin's inputs
  through a short-lived consumer with a random name (``keel_tail_<id>``: NATS
  wildcards match whole tokens, so any name not denied) and fetches its last
  snapshot with ``STREAM.MSG.GET``; NATS cannot check a multi-subject
  consumer's filter or a message-get's subject against permissions, so those
  rights allow reading the log. Every other plugin's durable name is denied,
  so no plugin can take over another's consumer. Drop ``RECOVERY`` for a
  plugin that must not read the log and does not need restart recovery.
"""

from __future__ import annotations

import sys

STREAM = "KEEL"

#: Events each plugin produces (besides its own lifecycle subjects).
PUBLISHES: dict[str, list[str]] = {
    "marketdata": ["keel.md.>"],
    # strategies request orders and cancel their own (going flat cancels working entries)
    "ema_cross": ["keel.order.requested.>", "keel.order.cancel.>"],
    "regime_ema": ["keel.order.requested.>", "keel.order.cancel.>"],
    "sma_cross": ["keel.order.requested.>", "keel.order.cancel.>"],
    "pair_spread": ["keel.order.requested.>", "keel.order.cancel.>"],
    "risk": ["keel.order.accepted.>", "keel.order.rejected.>", "keel.risk.>",
             "keel.order.cancel.>"],
    "execution": ["keel.order.submitted.>", "keel.order.rejected.>",
                  "keel.order.cancelled.>"],
    "paper": ["keel.order.filled.>", "keel.order.cancelled.>", "keel.order.rejected.>",
              "keel.order.triggered.>", "keel.order.updated.>", "keel.order.expired.>"],
    "portfolio": ["keel.portfolio.>"],
    # the venue session it records, market data, and (trading) fills, contracts, corrections
    "deriv": ["keel.venue.>", "keel.md.>", "keel.order.filled.>", "keel.order.rejected.>",
              "keel.order.cancelled.>", "keel.contract.updated.>", "keel.contract.settled.>",
              "keel.contract.adopted.>", "keel.contract.action_rejected.>"],
    "notary": ["keel.seal.>"],
    "regime": ["keel.intel.regime.>", "keel.model.regime.>"],
    "embedder": ["keel.intel.embedding.>"],
    "graph": ["keel.intel.graph.>"],
    "strategy_registry": ["keel.strategy.registered.>"],
    "gateway": ["keel.ctl.halt", "keel.ctl.resume", "keel.order.requested.>",
                "keel.order.cancel.>"],
}
#: Extra durable consumers a plugin owns (the notary reads the raw log as ``notary_log``).
CONSUMERS: dict[str, list[str]] = {"notary": ["notary_log"]}
#: Who may ask other plugins' queries and health, and look at any consumer's state.
OBSERVERS = ("gateway",)

RECOVERY = [f"$JS.API.CONSUMER.CREATE.{STREAM}.*",
            f"$JS.API.CONSUMER.MSG.NEXT.{STREAM}.*",
            f"$JS.API.CONSUMER.DELETE.{STREAM}.*",
            f"$JS.API.STREAM.MSG.GET.{STREAM}"]


def consumer_rights(name: str) -> list[str]:
    s = STREAM
    return [f"$JS.API.CONSUMER.INFO.{s}.{name}", f"$JS.API.CONSUMER.DURABLE.CREATE.{s}.{name}",
            f"$JS.API.CONSUMER.CREATE.{s}.{name}", f"$JS.API.CONSUMER.CREATE.{s}.{name}.>",
            f"$JS.API.CONSUMER.MSG.NEXT.{s}.{name}", f"$JS.API.CONSUMER.RESET.{s}.{name}",
            f"$JS.API.CONSUMER.DELETE.{s}.{name}", f"$JS.ACK.{s}.{name}.>"]


def durables() -> list[str]:
    """Every durable consumer name of the deployment (plugins and their extras)."""
    return [c for n in PUBLISHES for c in [n, *CONSUMERS.get(n, [])]]


def plugin_user(name: str) -> dict[str, list[str]]:
    own = [f"keel.sys.started.{name}", f"keel.sys.stopped.{name}", f"keel.timer.{name}",
           f"keel.dlq.{name}", f"keel.snapshot.{name}"]
    publish = [*PUBLISHES[name], *own, f"$JS.API.STREAM.INFO.{STREAM}", *RECOVERY]
    for consumer in [name, *CONSUMERS.get(name, [])]:
        publish += consumer_rights(consumer)
    subscribe = [f"_INBOX_{name}.>", f"keelctl.query.{name}.>", "keelctl.health",
                 f"keelctl.health.{name}"]
    if name in OBSERVERS:
        publish += ["keelctl.query.>", "keelctl.health.>", f"$JS.API.CONSUMER.INFO.{STREAM}.*"]
    mine = {name, *CONSUMERS.get(name, [])}
    deny = [r for other in durables() if other not in mine for r in consumer_rights(other)
            if ".INFO." not in r or name not in OBSERVERS]
    return {"publish": publish, "deny": deny, "subscribe": subscribe}


def operator_users() -> dict[str, dict[str, list[str]]]:
    """``ops``: halt/resume, status, queries, tail and audit reads; ``admin``: everything
    (creates the stream; `keel servers`, migrations)."""
    ops_publish = ["keel.ctl.>", "keelctl.>", f"$JS.API.STREAM.INFO.{STREAM}",
                   f"$JS.API.CONSUMER.INFO.{STREAM}.*", *RECOVERY]
    deny = [r for other in durables() for r in consumer_rights(other) if ".INFO." not in r]
    return {"ops": {"publish": ops_publish, "deny": deny, "subscribe": ["_INBOX_ops.>"]},
            "admin": {"publish": [">"], "deny": [], "subscribe": [">"]}}


def _list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{i}"' for i in items) + "]"


def render() -> str:
    users = {name: plugin_user(name) for name in PUBLISHES} | operator_users()
    lines = ["# Generated by deploy/nats/permissions.py: edit the table there, then",
             "#   python deploy/nats/permissions.py > deploy/nats/users.conf",
             "# Include it from a server config (`include users.conf`). Each password",
             "# comes from the environment: KEEL_NATS_PASSWORD_<USER>.",
             "authorization {", "  users = ["]
    for name, perms in users.items():
        var = "KEEL_NATS_PASSWORD_" + name.upper()
        lines += [f"    {{ user: {name}, password: ${var}, permissions: {{",
                  f"        publish: {{ allow: {_list(perms['publish'])},",
                  f"                   deny: {_list(perms['deny'])} }},",
                  f"        subscribe: {{ allow: {_list(perms['subscribe'])} }},",
                  "        allow_responses: true } }"]
    lines += ["  ]", "}", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(render())
