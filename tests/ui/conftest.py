"""Browser fixtures: Playwright for Python driving the system's Chromium.

Playwright's own browser download (`playwright install`) is never used: the tests run
Debian's `chromium` package at CHROMIUM. Without it they skip, saying so; in CI
(CI=true) a missing browser fails the run instead, so the browser tests cannot
silently stop running there.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.cli.protocol_worker import Handler, ProtocolWorker
from tests.support import BrokerThread

CHROMIUM = "/usr/bin/chromium"
LOAD_TIMEOUT_MS = 30_000  # generous: the machine may be busy


def _require_browser() -> None:
    if Path(CHROMIUM).exists():
        return
    reason = (
        f"no Chromium at {CHROMIUM} (install Debian's chromium package to run the browser tests)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """One headless Chromium for the browser tests. Package scope, not session: the sync
    Playwright API keeps its event loop running in this thread until it is closed, and
    an asyncio test run after it would then find a loop already running."""
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        yield chromium
        chromium.close()


@dataclass
class Watched:
    """A page plus what it did: every request's URL, dialogs opened, CSP violations and
    console errors, gathered by listeners installed before the first navigation."""

    page: Any
    base_url: str
    shots: Path
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def goto(self, path: str) -> Any:
        """Open a dashboard path and wait until it has loaded."""
        return self.page.goto(self.base_url + path, wait_until="load")

    def shot(self, name: str) -> Path:
        """Save a full-page screenshot under the test's tmp dir; return its path."""
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def foreign_requests(self) -> list[str]:
        """Requests to any host but the broker's."""
        broker = urlsplit(self.base_url).netloc
        return [u for u in self.requests if urlsplit(u).netloc != broker]


# Reports CSP violations to the test (via console) from an isolated world the page's CSP
# does not govern: an init script is injected by the browser, not by the page.
_CSP_LISTENER = """
document.addEventListener('securitypolicyviolation', (e) => {
  console.error('CSP-VIOLATION ' + e.violatedDirective + ' ' + e.blockedURI);
});
"""


def open_watched(browser: Any, base_url: str, shots: Path) -> tuple[Any, Watched]:
    """(context, Watched page) on the dashboard at `base_url`; close the context after."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(LOAD_TIMEOUT_MS)
    seen = Watched(page, base_url, shots)
    page.add_init_script(_CSP_LISTENER)
    page.on("request", lambda request: seen.requests.append(request.url))

    def on_dialog(dialog: Any) -> None:
        seen.dialogs.append(dialog.message)
        dialog.dismiss()

    def on_console(message: Any) -> None:
        if message.type == "error":
            text = message.text
            (seen.violations if text.startswith("CSP-VIOLATION") else seen.console_errors).append(
                text
            )
            if "Content Security Policy" in text:
                seen.violations.append(text)

    page.on("dialog", on_dialog)
    page.on("console", on_console)
    return context, seen


@pytest.fixture
def watched(browser: Any, broker: BrokerThread, tmp_path: Path) -> Iterator[Watched]:
    """A fresh page on the test broker's dashboard. Whatever the test did, every request
    the page made went to the broker and no script error or CSP violation happened."""
    context, seen = open_watched(browser, broker.http_url, tmp_path)
    yield seen
    context.close()
    assert seen.foreign_requests() == []
    assert seen.violations == [] and seen.console_errors == []


@pytest.fixture
def start_worker(broker: BrokerThread) -> Iterator[Callable[..., ProtocolWorker]]:
    """Start contract workers on the test broker; all are stopped at the end."""
    started: list[ProtocolWorker] = []

    def start(job_types: list[str], handler: Handler, **kwargs: Any) -> ProtocolWorker:
        worker = ProtocolWorker(broker.address, job_types, handler, **kwargs).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
