"""Finding the machine's Chromium: what the browser test says when it cannot run."""

from __future__ import annotations

from dwpose.app import browser


def test_missing_chromium_is_named_with_the_fix(monkeypatch, tmp_path):
    monkeypatch.setattr(browser, "CHROMIUM_CANDIDATES", (str(tmp_path / "chromium"),))
    monkeypatch.setattr(browser, "CHROMEDRIVER_CANDIDATES", (str(tmp_path / "chromedriver"),))
    monkeypatch.setattr(browser.shutil, "which", lambda name: None)
    chromium, driver, why = browser.find_chromium()
    assert chromium is None and driver is None
    assert why == "chromium and chromedriver not found (apt-get install chromium chromium-driver)"


def test_closed_network_flags():
    for flag in ("--headless=new", "--no-sandbox", "--disable-background-networking", "--disable-quic"):
        assert flag in browser.CHROMIUM_FLAGS
