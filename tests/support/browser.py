"""The Airflow UI in a real browser: Debian's headless Chromium driven by Playwright, as a person uses it.

Playwright never downloads a browser here: it drives ``/usr/bin/chromium`` (``./dev test`` installs
Debian's ``chromium`` when it is missing), with the flags that keep Chromium off the network.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TRIGGERED = "Dag run has been successfully triggered"


@contextmanager
def chromium_page(timeout: float = 120) -> Iterator[Any]:
    """A page in a fresh headless Chromium profile; ``timeout`` (s) for each wait on the page."""
    assert CHROMIUM.exists(), (f"{CHROMIUM} not found: the browser test needs Debian's chromium "
                               "(./dev test installs it with apt-get; or: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright, tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=FLAGS,
            viewport={"width": 1400, "height": 1000})
        try:
            page = context.new_page()
            page.set_default_timeout(timeout * 1000)
            yield page
        finally:
            context.close()


class AirflowUi:
    """What a person does in the Airflow UI at ``url``, with a screenshot of each step in ``shots``."""

    def __init__(self, page: Any, url: str, shots: Path) -> None:
        self.page, self.url, self.shots = page, url, shots
        shots.mkdir(parents=True, exist_ok=True)

    def shot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def log_in(self, user: str, password: str) -> None:
        """Open the UI, sign in on the simple auth manager's login page; back on the UI's home."""
        self.page.goto(self.url)
        self.page.wait_for_url("**/auth/login**")
        self.page.get_by_label("Username").fill(user)
        self.page.get_by_label("Password").fill(password)
        self.shot("01-login")
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url(lambda url: "/auth/" not in url)

    def open_run(self, dag_id: str, run_id: str, task_id: str | None = None, tab: str = "", map_index: int = -1) -> None:
        path = f"/dags/{dag_id}/runs/{quote(run_id, safe='')}" + (f"/tasks/{task_id}" if task_id else "")
        path += f"/mapped/{map_index}" if map_index >= 0 else ""
        self.page.goto(self.url + path + (f"/{tab}" if tab else ""))

    def leave(self) -> None:
        """Close the UI's page while a run runs (its pages poll the API server every few seconds)."""
        self.page.goto("about:blank")

    def trigger(self, dag_id: str, shot: str, **fields: Any) -> None:
        """The DAG's Trigger form: ``fields`` set by param name (text, ``bool`` switch, ``choice`` of a
        select), the rest left at their defaults; submitted, the UI says the run was triggered."""
        self.page.goto(f"{self.url}/dags/{dag_id}")
        self.page.get_by_role("button", name="Trigger").first.click()
        form = self.page.get_by_role("dialog")
        for name, value in fields.items():
            element = form.locator(f"[name=element_{name}]")
            if isinstance(value, bool):
                if element.is_checked() != value:
                    form.locator(f"label:has([name=element_{name}])").click()
            elif isinstance(value, Choice):
                form.locator(f"div:has(> [name=element_{name}])").get_by_role("combobox").click()
                self.page.get_by_role("option", name=value.option, exact=True).click()
            else:
                element.fill(value)
        self.shot(shot)
        form.get_by_role("button", name="Trigger").click()
        # Airflow's UI may render the toast twice (same id, two toasters): either one says it
        self.page.get_by_text(TRIGGERED).first.wait_for()


class Choice:
    """The option to pick in a select of the trigger form."""

    def __init__(self, option: str) -> None:
        self.option = option


def wait_for(what: str, found: Any, timeout: float, poll: float = 1.0) -> Any:
    """``found()`` until it returns something, for at most ``timeout`` seconds (a safety limit)."""
    deadline = time.monotonic() + timeout
    while not (value := found()):
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f}s"
        time.sleep(poll)
    return value
