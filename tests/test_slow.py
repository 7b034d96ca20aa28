"""Slow devices: a phone or a tablet trains with one worker, whatever its cores."""
import pytest

from pagekit import BOOT_S, wait_until, watched_in

pytest.importorskip('playwright.sync_api', reason='install the test extra: pip install -e .[test]')


@pytest.mark.parametrize('touch, expected', [(True, '1'), (False, '2')], ids=['phone', 'desktop'])
def test_a_phone_or_tablet_trains_with_one_worker(browser, base, touch, expected):
    options = {'has_touch': True, 'is_mobile': True} if touch else {}
    w = watched_in(browser, base, (412, 915) if touch else (1280, 800), **options)
    w.page.add_init_script("Object.defineProperty(Navigator.prototype, 'hardwareConcurrency', { get: () => 4 });")
    w.page.goto(base)
    w.wait_state('training', BOOT_S)
    assert w.page.input_value('[data-control="workers"]') == expected
    wait_until(lambda: w.stat('workers') == expected, 20, f'{expected} worker(s) training')
    note = w.page.text_content('[data-role="workers-note"]')
    assert ('a phone, a tablet' in note) == touch, note
    assert w.errors == [] and w.foreign == []
    w.close()
