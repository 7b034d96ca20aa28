"""Tests for the example deck in the built site: deck.html, deck/deck.js, the deck plugin
(deck/reveal-live-cnn.js), the vendored reveal.js files."""

import base64
import hashlib
import html.parser
import importlib.util
import io
import json
import re
import shutil
import subprocess
import tarfile
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

import pycore
from buildkit import assets, vendor

ROOT = Path(__file__).resolve().parents[1]
# Loaded by path, as in test_build.py: a module named `build` may also be installed.
_spec = importlib.util.spec_from_file_location("livecnn_build", ROOT / "build.py")
b = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(b)

# The page's URL keys an embed may use, and the values of the list-valued ones.
VIEW_KEYS = {"panels", "layers", "show"}
RUN_KEYS = {"embed", "autoplay", "start"}
PANELS = {"controls", "stats", "charts", "network", "predictions", "evaluation", "custom", "files"}
SHOW = {"activations", "gradients", "weights", "weight-gradients"}
# What the browser would fetch from another host: scheme:// or a protocol-relative //host.
EXTERNAL = re.compile(r"(?i)\b(?:https?|wss?|ftp)://|(?<![:\w/\\])//[a-z0-9-]+(?:\.[a-z0-9-]+)+")
# Attributes whose URL the browser loads by itself (<a href> is only followed when clicked).
LOADED_ATTRS = {"src", "data-src", "srcset", "poster", "data", "action", "formaction", "manifest",
                "data-background-image", "data-background-iframe", "data-background-video"}


class Page(html.parser.HTMLParser):
    """A page's elements [(tag, {attr: value})], and the text inside its script, style and code elements."""

    def __init__(self, text):
        super().__init__()
        self.elements, self.texts, self._open = [], {"script": [], "style": [], "code": []}, []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        if tag in self.texts:
            self._open.append(tag)
            self.texts[tag].append("")

    def handle_endtag(self, tag):
        if self._open and self._open[-1] == tag:
            self._open.pop()

    def handle_data(self, data):
        for tag in self._open:
            self.texts[tag][-1] += data

    def all(self, tag):
        return [attrs for t, attrs in self.elements if t == tag]


def deck(site):
    return Page((site / "deck.html").read_text())


def vendored(site):
    return sorted(p.relative_to(site).as_posix() for p in (site / vendor.REVEAL_DIR).rglob("*") if p.is_file())


def is_local(url):
    parts = urlsplit(url)
    return not EXTERNAL.match(url) and parts.scheme in ("", "data") and not parts.netloc


def loaded_urls(page):
    """(tag, attribute, URL) of everything a page makes the browser load, <link href> included."""
    found = []
    for tag, attrs in page.elements:
        for name, value in attrs.items():
            if value is not None and (name in LOADED_ATTRS or (tag == "link" and name == "href")):
                urls = [u.split()[0] for u in value.split(",")] if name == "srcset" else [value]
                found += [(tag, name, url) for url in urls]
    return found


def test_deck_and_its_files_are_built_and_listed_in_the_manifest(site):
    assert (site / "deck.html").is_file() and (site / "deck" / "deck.js").is_file()
    assert vendored(site) == sorted(f"{vendor.REVEAL_DIR}/{dest}" for dest in vendor.REVEAL_FILES.values())
    assert vendor.REVEAL_DIR == "vendor/reveal.js/6.0.2"
    listed = {f["path"]: f for f in json.loads((site / "manifest.json").read_text())["files"]}
    for rel in vendored(site) + ["deck.html", "deck/deck.js", "deck/reveal-live-cnn.js"]:
        data = (site / rel).read_bytes()
        assert listed[rel]["sha256"] == hashlib.sha256(data).hexdigest() and listed[rel]["bytes"] == len(data)
    # Just what the deck needs, not the 3 MB package: reveal.js, its CSS, one theme and its fonts.
    assert sum((site / rel).stat().st_size for rel in vendored(site)) < 700_000
    assert (site / vendor.REVEAL_DIR / "theme" / "white.css").stat().st_size < 10_000


def test_deck_links_the_vendored_files_and_has_no_inline_code(site):
    page = deck(site)
    scripts = page.all("script")
    version = json.loads((site / "manifest.json").read_text())["version"]
    assert [s["src"] for s in scripts] == [f"{vendor.REVEAL_DIR}/reveal.js", f"deck/reveal-live-cnn.js?v={version}",
                                          f"deck/deck.js?v={version}"]
    # All three run, in this order: reveal.js and the plugin (classic scripts) before deck.js.
    assert "defer" in scripts[0] and "defer" in scripts[1] and scripts[2].get("type") == "module"
    assert [t for t in page.texts["script"] if t.strip()] == []   # a strict CSP will allow no inline script
    assert [a["href"] for a in page.all("link") if a.get("rel") == "stylesheet"] == [
        f"{vendor.REVEAL_DIR}/reveal.css", f"{vendor.REVEAL_DIR}/theme/white.css"]
    for tag, name, url in loaded_urls(page):
        if not url.startswith("data:"):
            assert (site / urlsplit(url).path).is_file(), (tag, name, url)
    assert page.texts["style"] == [] and not any("style" in a or any(n.startswith("on") for n in a)
                                                 for _, a in page.elements)


def test_no_external_urls_in_the_deck_the_vendored_files_and_every_page(site):
    texts = {rel: (site / rel).read_text() for rel in ["deck.html", "deck/deck.js", "deck/reveal-live-cnn.js"]}
    for rel, text in texts.items():
        assert not EXTERNAL.search(text), (rel, EXTERNAL.search(text))
    for page in sorted(site.glob("*.html")):
        parsed = Page(page.read_text())
        assert [u for u in loaded_urls(parsed) if not is_local(u[2])] == [], page.name
        for code in parsed.texts["script"] + parsed.texts["style"]:
            assert not EXTERNAL.search(code), (page.name, EXTERNAL.search(code))
    for rel in vendored(site):
        path = site / rel
        if path.suffix == ".css":
            css = path.read_text()
            assert not EXTERNAL.search(css), rel
            vendor.check_local_css(css, path.relative_to(site / vendor.REVEAL_DIR).as_posix(),
                                   {p.removeprefix(vendor.REVEAL_DIR + "/"): b"" for p in vendored(site)})
        elif path.suffix == ".js":
            # URLs only in comments (the licence banner): none in code that could fetch them.
            js = path.read_text()
            comments = [m.span() for m in re.finditer(r"/\*.*?\*/", js, re.S)]
            for m in EXTERNAL.finditer(js):
                assert any(a <= m.start() < z for a, z in comments), (rel, js[m.start() - 40:m.end() + 40])
        else:
            assert path.suffix == ".woff" or path.name == "LICENSE", rel   # fonts and licences load nothing


def embed_urls(site):
    page = deck(site)
    iframes = page.all("iframe")
    # The snippet on the last slide, as a reader would copy it.
    snippets = re.findall(r'data-src="([^"]*)"', "".join(page.texts["code"]))
    return iframes, [f["data-src"] for f in iframes] + snippets


def test_every_embed_uses_only_the_page_url_keys_and_one_run(site):
    iframes, urls = embed_urls(site)
    assert len(iframes) == 4 and len(urls) == 5
    counts = {}
    layer_names = []
    for d in pycore.CONVNETJS_MNIST:   # the default net's layers: type plus a 1-based count per type
        counts[d["type"]] = counts.get(d["type"], 0) + 1
        layer_names.append(f"{d['type']}{counts[d['type']]}")
    assert layer_names == ["input1", "conv1", "pool1", "conv2", "pool2", "softmax1"]
    runs, views = set(), []
    for url in urls:
        parts = urlsplit(url)
        assert (parts.scheme, parts.netloc, parts.path, parts.fragment) == ("", "", "index.html", ""), url
        pairs = parse_qsl(parts.query, strict_parsing=True)
        query = dict(pairs)
        assert len(query) == len(pairs) and set(query) <= VIEW_KEYS | RUN_KEYS, url
        assert query["embed"] == "1" and query["autoplay"] == "0", url
        assert query.get("start", "pretrained") == "pretrained", url
        assert set(query["panels"].split(",")) <= PANELS, url
        assert set(query.get("show", "activations").split(",")) <= SHOW, url
        assert all(n in layer_names or n.isdigit() for n in query.get("layers", "input1").split(",")), url
        runs.add(tuple(sorted((k, v) for k, v in pairs if k in RUN_KEYS)))
        views.append({k: v for k, v in pairs if k in VIEW_KEYS})
    assert len(runs) == 1, runs   # no preset or seed differences: every embed shows the same run
    assert views[:4] == [
        {"panels": "charts"},
        {"panels": "network", "layers": "conv1", "show": "weights"},
        {"panels": "network", "layers": "input1,conv1,pool1", "show": "activations"},
        {"panels": "predictions,evaluation"},
    ]
    for f in iframes:
        assert "data-preload" in f and "src" not in f and f["width"] == "100%" and int(f["height"]) >= 550
        assert f["title"].startswith("Live CNN: ")


def test_deck_js_keeps_reveals_defaults_preloads_and_uses_the_plugin(site):
    js = (site / "deck" / "deck.js").read_text()
    for option in ("width: 960", "height: 700", "hash: true", "preloadIframes: true", "plugins: [RevealLiveCnn]"):
        assert option in js
    assert "keyboard" not in js   # reveal's own keys


def test_the_plugin_is_a_classic_script_that_posts_objects(site):
    """A teacher's deck loads it with a plain <script src> from any origin, or from disk: no module
    syntax. It posts objects only (reveal.js acts on JSON strings posted to the deck)."""
    js = (site / "deck" / "reveal-live-cnn.js").read_text()
    assert not re.search(r"^\s*(import|export)\b", js, re.M)
    assert "root.RevealLiveCnn = RevealLiveCnn" in js
    posts = re.findall(r"postMessage\(([^,]+),", js)
    assert posts and all(p.strip().startswith("{") for p in posts), posts


def test_theme_fonts_are_the_tarballs_font_files(site):
    """The theme as vendored is the tarball's, byte for byte, once its font files are inlined back."""
    tgz = assets.fetch_npm(b.resolve_cache(None), assets.REVEAL_PACKAGE, lambda m: None)
    theme = f"theme/{vendor.REVEAL_THEME}.css"
    original = assets.read_tar_members(tgz, [f"package/dist/{theme}"])[f"package/dist/{theme}"].decode()
    ours = (site / vendor.REVEAL_DIR / theme).read_text()
    assert "data:" not in ours

    def inline(m):
        font = (site / vendor.REVEAL_DIR / "theme" / m.group(1)).read_bytes()
        return f"url(data:font/woff;base64,{base64.b64encode(font).decode()})"

    assert re.sub(r"url\((fonts/[^)]+\.woff)\)", inline, ours) == original
    for src, dest in vendor.REVEAL_FILES.items():
        if dest != theme:
            assert (site / vendor.REVEAL_DIR / dest).read_bytes() == assets.read_tar_members(
                tgz, [f"package/{src}"])[f"package/{src}"], dest


def test_remote_imports_and_unknown_fonts_are_refused():
    files = {"theme/white.css": b"", "theme/fonts/a.woff": b"font a", "reveal.css": b""}
    vendor.check_local_css("a{background:url(data:image/gif;base64,R0lG)}@import 'fonts/a.woff';",
                           "theme/white.css", files)
    for css in ('@import "https://fonts.example/css?family=Lato";', "a{src:url(//cdn.example/x.woff)}",
                "a{src:url(/fonts/a.woff)}", "a{src:url(fonts/b.woff)}", "@import url(http://x.example/a.css);"):
        with pytest.raises(assets.BuildError, match="not vendored"):
            vendor.check_local_css(css, "theme/white.css", files)
    known = base64.b64encode(b"font a").decode()
    assert vendor.fonts_to_files(f"a{{src:url(data:font/woff;base64,{known})}}", files, "theme/white.css") == \
        "a{src:url(fonts/a.woff)}"
    with pytest.raises(assets.BuildError, match="inlines a font"):
        vendor.fonts_to_files(f"a{{src:url('data:font/woff;base64,{base64.b64encode(b'other').decode()}')}}",
                              files, "theme/white.css")


def no_tools(*args, **kwargs):
    raise AssertionError(f"a package client was run: {args} {kwargs}")


def test_build_refuses_a_tampered_reveal_tarball_and_keeps_the_output(site, tmp_path, monkeypatch):
    """A cache that is the real one but for a reveal.js tarball with one byte appended."""
    real = b.resolve_cache(None)
    cache = tmp_path / "cache"
    cache.mkdir()
    for entry in real.iterdir():
        if entry.name != "npm":
            (cache / entry.name).symlink_to(entry)
    (cache / "npm").mkdir()
    for tgz in (real / "npm").iterdir():
        (cache / "npm" / tgz.name).symlink_to(tgz)
    name = assets.REVEAL_PACKAGE[1]
    (cache / "npm" / name).unlink()
    (cache / "npm" / name).write_bytes((real / "npm" / name).read_bytes() + b"\0")
    monkeypatch.setattr(subprocess, "run", no_tools)
    out = tmp_path / "dist"
    shutil.copytree(site, out)   # an earlier build, which the refused one must leave alone
    manifest = (out / "manifest.json").read_bytes()
    with pytest.raises(assets.BuildError, match=f"sha256 mismatch for .*{re.escape(name)}"):
        b.build(out, cache_dir=cache, log=lambda m: None)
    assert (out / "manifest.json").read_bytes() == manifest
    assert (out / vendor.REVEAL_DIR / "reveal.js").is_file()


def test_uplot_is_the_tarballs_but_for_a_valid_locale(site, tmp_path):
    """The vendored uPlot differs from the tarball's only where it formats numbers: a language that is
    no valid tag ("C", WebKitGTK's under LANG=C) gives the default locale instead of a RangeError."""
    tgz = assets.fetch_npm(b.resolve_cache(None), assets.UPLOT_PACKAGE, lambda m: None)
    member = "package/dist/uPlot.esm.js"
    original = assets.read_tar_members(tgz, [member])[member].decode()
    ours = (site / vendor.UPLOT_DIR / "uPlot.esm.js").read_text()
    assert ours == original.replace(*vendor.UPLOT_LOCALE) and ours != original
    expression = vendor.UPLOT_LOCALE[1][len("new Intl.NumberFormat("):-1]
    for language, expected in (("C", "12,345.5"), ("de-DE", "12.345,5"), ("en-US", "12,345.5")):   # node: the build's
        script = (f"const domEnv = true, nav = {{ language: {json.dumps(language)} }};"
                  f"process.stdout.write(new Intl.NumberFormat({expression}).format(12345.5));")
        assert subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True).stdout == expected
    # A uPlot whose formatter is not the expected line is refused, not shipped unpatched.
    broken = tmp_path / "uplot.tgz"
    with tarfile.open(broken, "w:gz") as tar:
        for name, data in ((member, original.replace(vendor.UPLOT_LOCALE[0], "new Intl.NumberFormat()").encode()),
                           ("package/dist/uPlot.min.css", b".u-legend{}"), ("package/LICENSE", b"MIT")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(assets.BuildError, match="number formatter"):
        vendor.vendor_uplot(tmp_path / "out", broken)
