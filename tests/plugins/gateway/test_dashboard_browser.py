"""The dashboard in Debian's chromium, driven by Playwright: a position appears after a
fill, an order shows its type and state, an admin's halt shows HALTED, a viewer has no
halt button. Required when CI=true."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .stack import Stack

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

if not Path(CHROMIUM).exists():
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing: .ci/run installs it (apt-get install chromium)",
                    pytrace=False)
    pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium); required in CI",
                allow_module_level=True)

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def sign_in(page: Page, stack: Stack, role: str) -> None:
    page.goto(f"{stack.url}/dashboard/")
    page.fill("#token", stack.token(role, sub=f"{role}-alice"))
    page.click("#login-form button[type=submit]")
    expect(page.locator("#who")).to_have_text(f"{role}-alice ({role})")
    expect(page.locator("#conn")).to_have_text("live")


def test_operator_sees_fill_halts_and_viewer_cannot(stack: Stack, browser: Browser,
                                                    tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, stack, "admin")
    expect(page.locator("#trading")).to_have_text("trading: ACTIVE")

    # An order through the API, a bar, a fill: the position shows up live.
    r = httpx.post(f"{stack.url}/orders", headers=stack.headers("trader"),
                   json={"instrument": "EURUSD", "side": "BUY", "quantity": "25000"})
    assert r.status_code == 201 and r.json()["state"] == "ACCEPTED", r.text
    stack.bar("EURUSD", "1.1050")
    row = page.locator("#positions tr[data-instrument=EURUSD]")
    expect(row).to_contain_text("25,000")
    expect(page.locator("#fills tbody")).to_contain_text(r.json()["client_order_id"])
    page.screenshot(path=str(tmp_path / "dashboard-position.png"), full_page=True)

    # Order types and states: a stop-limit whose trigger a bar trades through rests as
    # a limit, shown with its type, prices and TRIGGERED.
    r = httpx.post(f"{stack.url}/orders", headers=stack.headers("trader"), json={
        "instrument": "EURUSD", "side": "BUY", "quantity": "1000", "type": "STOP_LIMIT",
        "trigger_price": "1.106", "limit_price": "1.09", "client_order_id": "dash-sl-1"})
    assert r.status_code == 201 and r.json()["state"] == "ACCEPTED", r.text
    stack.bar("EURUSD", "1.1070")
    order_row = page.locator("#orders tr[data-order=dash-sl-1]")
    expect(order_row).to_contain_text("STOP_LIMIT 1.106 / 1.09")
    expect(order_row.locator("td.state-TRIGGERED")).to_have_text("TRIGGERED")

    # The admin halts from the dashboard: asked for a reason, shown the confirmed state.
    page.click("#halt-button")
    page.fill("#control-reason", "browser test: venue outage")
    page.click("#control-confirm")
    expect(page.locator("#halted-banner")).to_be_visible()
    expect(page.locator("#halted-banner")).to_contain_text("HALTED")
    expect(page.locator("#control-result")).to_contain_text("halt confirmed by risk: HALTED")
    page.screenshot(path=str(tmp_path / "dashboard-halted.png"), full_page=True)

    # A phone-sized screen keeps the banner and the tables readable.
    phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    sign_in(phone, stack, "viewer")
    expect(phone.locator("#halted-banner")).to_be_visible()
    # A viewer never gets the halt button (and the API would refuse it anyway).
    assert phone.locator("#halt-button").count() == 0
    expect(phone.locator("#positions tr[data-instrument=EURUSD]")).to_be_visible()
    phone.screenshot(path=str(tmp_path / "dashboard-phone-viewer.png"), full_page=True)
    print(f"screenshots in {tmp_path}")
