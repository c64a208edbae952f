"""The console as its own process beside the four services (the end-to-end tests' running
system), and a real browser: Playwright driving Debian's chromium."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from services.runtime.embedded import free_port
from services.runtime.launcher import ServiceProcesses
from tests.e2e.conftest import services  # noqa: F401 - the four services as processes, reused

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 860}
# CI (.ci/run) sets this: there the browser tests must run, never skip.
REQUIRED = os.environ.get("LIANDONG_BROWSER_TESTS") == "required"


def _browser_missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (make install)"
    if not CHROMIUM.exists():
        return f"no chromium at {CHROMIUM} (apt-get install chromium; .ci/run does it)"
    return None


@dataclass(frozen=True)
class Console:
    url: str
    log: Path


@pytest.fixture(scope="package")
def console(services, infra, tmp_path_factory) -> Iterator[Console]:  # noqa: F811
    env = {
        **infra.env(),
        "LIANDONG_API_KEYS_FILE": str(services.keys_file),
        "LIANDONG_CONSOLE_DEMO": "true",
        "LIANDONG_RATE_LIMIT_EXEMPT": "127.0.0.1",  # the journeys sign in again and again
        **{f"LIANDONG_CONSOLE_{n.upper()}_URL": services.urls[n] for n in services.urls},
    }
    log_dir = tmp_path_factory.mktemp("console-logs")
    processes = ServiceProcesses(env, log_dir=log_dir)
    try:
        started = processes.start("console", port=free_port())
        processes.wait_ready(timeout_s=60)
        yield Console(started.url, log_dir / "console.log")
    finally:
        processes.stop()


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    missing = _browser_missing()
    if missing is not None:
        if REQUIRED:
            pytest.fail(f"browser tests are required here, but {missing}")
        pytest.skip(f"browser tests skipped: {missing}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",  # root in CI
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_page(browser, console) -> Iterator[Callable[..., Any]]:
    """A page in a fresh browser context (its own cookies): desktop by default, `phone=True`
    for a phone-sized touch screen, `javascript=False` to prove a page works without it."""
    contexts = []

    def make(*, phone: bool = False, javascript: bool = True) -> Any:
        context = browser.new_context(
            base_url=console.url,
            viewport=PHONE if phone else DESKTOP,
            is_mobile=phone,
            has_touch=phone,
            java_script_enabled=javascript,
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def screenshot(page: Any, name: str) -> None:
    """Saved under build/screenshots (git-ignored), the run's artifacts."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in_as(page: Any, demo_user: str) -> None:
    page.goto("/sign-in")
    page.locator(f'button[data-demo="{demo_user}"]').click()
    page.wait_for_load_state()


def reload_until(page: Any, found: Callable[[], bool], *, timeout_s: float = 30) -> None:
    """Reload the page until `found()` holds: the pipeline behind it runs asynchronously."""
    deadline = time.monotonic() + timeout_s
    while not found():
        if time.monotonic() > deadline:
            raise AssertionError(f"not shown within {timeout_s}s on {page.url}")
        time.sleep(0.5)
        page.reload()


TASK_URL = re.compile(r"/department/tasks/([0-9a-f-]{36})")
