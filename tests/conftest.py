import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "site" / "py"))

import pytest


@pytest.fixture(scope='session')
def site(tmp_path_factory):
    """The real site, built once per test session from the download cache."""
    import build
    out = tmp_path_factory.mktemp('site') / 'dist'
    build.build(out, log=lambda *a: None)
    return out
