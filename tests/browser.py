"""Launching the test browser: Debian's Chromium when present, else a Playwright-managed one."""
import os
import shutil

CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
                  '--disable-component-update', '--disable-sync', '--no-first-run']


def chromium_path():
    """$LIVECNN_CHROMIUM, else `chromium` on PATH, else None (Playwright's own browser)."""
    return os.environ.get('LIVECNN_CHROMIUM') or shutil.which('chromium') or shutil.which('chromium-browser')


def launch(playwright, extra_args=(), **kwargs):
    """The test browser; extra_args: more command-line flags (the benchmark's memory parts expose gc)."""
    path = chromium_path()
    args = CHROMIUM_FLAGS + list(extra_args)
    if path:
        return playwright.chromium.launch(executable_path=path, args=args, **kwargs)
    return playwright.chromium.launch(args=args, **kwargs)
