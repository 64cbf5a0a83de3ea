"""Headless Chromium driving the ``dwpose app`` page: the browser tests and ``tools/app_screenshot.py``.

Uses the machine's Chromium and ChromeDriver (Debian: ``apt-get install chromium chromium-driver``)
through Selenium, with nothing downloaded: no Selenium Manager, no browser of a test tool's own.
Chromium runs with the flags a closed network needs (no background networking, component updates,
sync or QUIC) and a fresh profile in a temporary folder.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Optional, Tuple, TypeVar

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMEDRIVER_CANDIDATES = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1800",
)
T = TypeVar("T")


def find_chromium() -> Tuple[Optional[str], Optional[str], str]:
    """``(chromium, chromedriver, why)``: the two executables, or None and why they are missing."""
    chromium = next((p for p in CHROMIUM_CANDIDATES if Path(p).is_file()), shutil.which("chromium"))
    driver = next((p for p in CHROMEDRIVER_CANDIDATES if Path(p).is_file()), shutil.which("chromedriver"))
    try:
        import selenium  # noqa: F401
    except ImportError:
        return chromium, driver, "selenium is not installed (pip install -r requirements.txt)"
    if chromium is None or driver is None:
        missing = " and ".join(n for n, p in (("chromium", chromium), ("chromedriver", driver)) if p is None)
        return chromium, driver, f"{missing} not found (apt-get install chromium chromium-driver)"
    return chromium, driver, ""


@contextmanager
def headless_chromium(download_dir: Optional[Path] = None) -> Iterator[WebDriver]:
    """A Selenium ``WebDriver`` on headless Chromium with a fresh profile; downloads go to
    ``download_dir``. Raises RuntimeError when Chromium, ChromeDriver or Selenium is missing."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver_path, why = find_chromium()
    if why:
        raise RuntimeError(why)
    profile = Path(tempfile.mkdtemp(prefix="dwpose-chromium-"))
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    if download_dir is not None:
        options.add_experimental_option(
            "prefs",
            {
                "download.default_directory": str(download_dir),
                "download.prompt_for_download": False,
                "safebrowsing.enabled": False,
            },
        )
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(condition: Callable[[], Optional[T]], timeout: float, what: str, poll: float = 0.25) -> T:
    """Poll ``condition`` until it returns something truthy; TimeoutError naming ``what`` otherwise.
    Exceptions from the page changing under us (stale elements) count as "not yet"."""
    deadline = time.monotonic() + timeout
    last_error: Optional[BaseException] = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - e.g. StaleElementReferenceException while Gradio re-renders
            last_error = exc
        time.sleep(poll)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what} (last error: {last_error})")


class AppPage:
    """The page at ``url`` in ``driver``: upload a file, press the button, read what it shows."""

    def __init__(self, driver, url: str, timeout: float = 60.0) -> None:
        from selenium.webdriver.common.by import By

        self.driver, self.url, self.timeout, self.by = driver, url.rstrip("/"), timeout, By
        driver.get(self.url + "/")
        wait_for(lambda: self._find("#run"), timeout, "the page to load")

    def _find(self, css: str):
        found = self.driver.find_elements(self.by.CSS_SELECTOR, css)
        return found[0] if found else None

    def text(self, css: str) -> str:
        element = self._find(css)
        return element.text if element is not None else ""

    def upload(self, path: Path) -> None:
        """Put ``path`` into the upload box (clearing an earlier file first) and wait until it is in."""
        clear = self._find("#upload button[aria-label='Clear']")
        if clear is not None:
            clear.click()
            wait_for(lambda: self._find("#upload input[type=file]"), self.timeout, "the upload box to clear")
        self._find("#upload input[type=file]").send_keys(str(Path(path).resolve()))
        name = Path(path).name
        wait_for(
            lambda: self._find(f'#upload td.filename[aria-label="{name}"]'), self.timeout, f"{name} to upload"
        )

    def status(self) -> str:
        """The status line (the markdown under the buttons), without Gradio's progress timer."""
        return self.text("#status [data-testid=markdown]").strip()

    def busy(self) -> bool:
        """Whether an event of the page is still running (its status tracker is shown)."""
        tracker = self._find("#status [data-testid=status-tracker]")
        return tracker is not None and "hide" not in (tracker.get_attribute("class") or "").split()

    def run(self) -> str:
        """Press "Estimate poses" and wait for the status line to change (the result, or an error line);
        returns it. The new line must differ from the one shown before, as it does for a new upload."""
        before = self.status()
        self._find("#run").click()
        return wait_for(
            lambda: not self.busy() and (s := self.status()) != before and s, self.timeout, "the result"
        )

    def pick_model(self, label: str) -> None:
        """Choose ``label`` in the model picker."""
        self._find("#model input").click()
        option = wait_for(
            lambda: self._find(f'#model [role=option][aria-label="{label}"]'), self.timeout, label
        )
        option.click()

    def overlay_src(self) -> Optional[str]:
        img = self._find("#overlay img")
        return img.get_attribute("src") if img is not None else None

    def download_links(self) -> dict:
        """``{file name: link}`` of the Downloads box."""
        links = self.driver.find_elements(self.by.CSS_SELECTOR, "#downloads a[download]")
        return {a.get_attribute("download"): a.get_attribute("href") for a in links}

    def click_download(self, name: str) -> None:
        """Click the Downloads box's link of file ``name`` (the browser saves it)."""
        link = self._find(f'#downloads a[download="{name}"]')
        if link is None:
            raise KeyError(f"no download named {name} on the page")
        link.click()

    def table(self) -> list:
        """Rows of the People table as lists of cell texts."""
        rows = self.driver.find_elements(self.by.CSS_SELECTOR, "#people [role=row][data-index]")
        cells = [r.find_elements(self.by.CSS_SELECTOR, "[role=gridcell]") for r in rows]
        return [[" ".join((c.get_attribute("textContent") or "").split()) for c in row] for row in cells]
