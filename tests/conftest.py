import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "site" / "worker" / "py"))


@pytest.fixture(scope='session')
def site(tmp_path_factory):
    """The real site, built once per test session from the download cache."""
    import build
    out = tmp_path_factory.mktemp('site') / 'dist'
    build.build(out, log=lambda *a: None)
    return out


@pytest.fixture(scope='session')
def base(site):
    """The built site served on a free localhost port for the session: its URL."""
    from pagekit import start_server
    server, url = start_server(site)
    yield url
    server.shutdown()
    server.server_close()


@pytest.fixture(scope='session')
def browser():
    """One headless Chromium for the session (Debian's when present; see browser.py)."""
    sync_api = pytest.importorskip('playwright.sync_api', reason='install the test extra: pip install -e .[test]')
    from browser import launch
    with sync_api.sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()
