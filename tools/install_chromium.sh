#!/usr/bin/env bash
# Headless Chromium + ChromeDriver for the browser test of `dwpose app` (tests/app/test_browser.py),
# from Debian's packages, unattended. Does nothing when both are there; exit 1 when they cannot be had
# (no apt-get, not root and no password-less sudo, or the packages fail to install).
set -euo pipefail
if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
    echo "[chromium] $(/usr/bin/chromium --version 2>/dev/null || echo chromium) and chromedriver are installed"
    exit 0
fi
if ! command -v apt-get >/dev/null; then
    echo "[chromium] no apt-get here: install Chromium and ChromeDriver by hand" >&2
    exit 1
fi
SUDO=()
if [[ "$(id -u)" != 0 ]]; then
    if sudo -n true 2>/dev/null; then SUDO=(sudo -n); else
        echo "[chromium] not root and no password-less sudo: run apt-get install chromium chromium-driver" >&2
        exit 1
    fi
fi
APT=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -y -q --no-install-recommends)
echo "[chromium] installing Debian's chromium and chromium-driver"
"${APT[@]}" install chromium chromium-driver || { "${SUDO[@]}" apt-get update -q && "${APT[@]}" install chromium chromium-driver; }
