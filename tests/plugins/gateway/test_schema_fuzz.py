"""Schemathesis against the OpenAPI schema the gateway serves: no generated input makes it
answer 500, and every 422 names the offending field.

Operations are driven one by one with Hypothesis (schemathesis' pytest integration
does not load under this pytest), each with ``EXAMPLES`` generated cases.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings

from .stack import Stack

EXAMPLES = 50


def no_internal_error(ctx: Any, response: Any, case: Any) -> bool | None:
    """No 500; the one 5xx by design is 503 from an endpoint whose plugin is absent
    (here the intelligence plugins), with a body naming the plugin."""
    assert response.status_code != 500, response.text
    if response.status_code >= 500:
        body = response.json()
        assert response.status_code == 503 and body["plugin"] in ("regime", "embedder"), body
    return None


def names_the_field(ctx: Any, response: Any, case: Any) -> bool | None:
    if response.status_code == 422:
        body = response.json()
        assert body["error"] == "validation" and body["fields"], body
        assert all(body["fields"]), body
    return None


def test_no_input_makes_the_gateway_fail(stack: Stack) -> None:
    schema = schemathesis.openapi.from_url(f"{stack.url}/openapi.json")
    headers = stack.headers("admin")
    checked: list[str] = []
    calls: list[int] = []
    for result in schema.get_all_operations():
        op = result.ok()
        if op.path == "/events":
            continue  # the live stream never ends by itself; test_api covers it

        @given(case=op.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            response = case.call_and_validate(headers=headers,
                                              checks=[no_internal_error, names_the_field])
            calls.append(response.status_code)

        run()
        checked.append(f"{op.method.upper()} {op.path}")
    assert len(checked) >= 15, checked
    assert len(calls) >= 10 * len(checked) and 422 in calls, sorted(set(calls))
