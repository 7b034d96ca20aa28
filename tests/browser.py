"""Launching the test browser: Debian's Chromium when present, else a Playwright-managed one."""
import os
import shutil

CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
                  '--disable-component-update', '--disable-sync', '--no-first-run']


def chromium_path():
    """$LIVECNN_CHROMIUM, else `chromium` on PATH, else None (Playwright's own browser)."""
    return os.environ.get('LIVECNN_CHROMIUM') or shutil.which('chromium') or shutil.which('chromium-browser')


def launch(playwright, **kwargs):
    path = chromium_path()
    if path:
        return playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS, **kwargs)
    return playwright.chromium.launch(args=CHROMIUM_FLAGS, **kwargs)
