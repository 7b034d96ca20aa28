"""Files copied from verified npm tarballs: the few reveal.js files the example deck (deck.html)
needs, and uPlot, which draws the page's charts."""
import base64
import posixpath
import re

from buildkit.assets import REVEAL_VERSION, BuildError, read_tar_members, sha256_bytes

# Versioned like RUNTIME_DIR: another reveal.js gets other URLs.
REVEAL_DIR = f"vendor/reveal.js/{REVEAL_VERSION}"
REVEAL_THEME = "white"   # no remote @import, unlike simple, sky, night, beige, ...
FONT_DIR = "css/theme/fonts/source-sans-pro"
# The theme inlines these fonts as data: URLs; they are written as files beside it instead, so the
# theme is 5 kB, a browser fetches only the faces a slide uses, and a CSP needs no `font-src data:`.
FONT_FILES = ["source-sans-pro-regular.woff", "source-sans-pro-italic.woff",
              "source-sans-pro-semibold.woff", "source-sans-pro-semibolditalic.woff"]
# path in the tarball (under package/) -> path in the site (under REVEAL_DIR)
REVEAL_FILES = {
    "dist/reveal.js": "reveal.js",   # the UMD build: it defines the global Reveal
    "dist/reveal.css": "reveal.css",
    f"dist/theme/{REVEAL_THEME}.css": f"theme/{REVEAL_THEME}.css",
    "LICENSE": "LICENSE",
    **{f"{FONT_DIR}/{f}": f"theme/fonts/source-sans-pro/{f}" for f in FONT_FILES + ["LICENSE"]},
}
INLINE_FONT = re.compile(r"""url\((["']?)data:font/woff;base64,([A-Za-z0-9+/=]+)\1\)""")
CSS_URL = re.compile(r"""url\(\s*(["']?)([^"')]*)\1\s*\)|@import\s+(["'])([^"']*)\3""")


# uPlot: path in the tarball (under package/) -> path in the site. chart.js imports it relatively
# (page/views/chart.js -> vendor/uplot/uPlot.esm.js) and index.html links its CSS.
UPLOT_DIR = "vendor/uplot"
UPLOT_FILES = {"dist/uPlot.esm.js": "uPlot.esm.js", "dist/uPlot.min.css": "uPlot.min.css", "LICENSE": "LICENSE"}


# uPlot formats numbers with Intl.NumberFormat(navigator.language) when its module loads, which
# throws a RangeError where the language is no valid BCP 47 tag (WebKitGTK under LANG=C reports "C"),
# and then no module of the page runs. The build passes it a valid tag instead: the browser's own
# when valid, else the runtime's default locale.
UPLOT_LOCALE = ("new Intl.NumberFormat(domEnv ? nav.language : 'en-US')",
                "new Intl.NumberFormat(domEnv ? (() => { try { return Intl.getCanonicalLocales(nav.language); }"
                " catch (e) { return undefined; } })() : 'en-US')")


def vendor_uplot(out, tgz):
    """Write UPLOT_FILES from the verified uPlot tarball to out/UPLOT_DIR, its locale made valid."""
    files = read_tar_members(tgz, [f"package/{src}" for src in UPLOT_FILES])
    check_local_css(files["package/dist/uPlot.min.css"].decode("utf-8"), "uPlot.min.css", {})
    js = files["package/dist/uPlot.esm.js"].decode("utf-8")
    if js.count(UPLOT_LOCALE[0]) != 1:
        raise BuildError(f"uPlot's number formatter is not the expected {UPLOT_LOCALE[0]!r}: check UPLOT_LOCALE")
    files["package/dist/uPlot.esm.js"] = js.replace(*UPLOT_LOCALE).encode("utf-8")
    for src, dest in UPLOT_FILES.items():
        path = out / UPLOT_DIR / dest
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[f"package/{src}"])


def vendor_reveal(out, tgz):
    """Write REVEAL_FILES from the verified reveal.js tarball to out/REVEAL_DIR, the theme's inline
    fonts replaced by links to the same fonts' files; -> the URLs deck.html links to."""
    files = read_tar_members(tgz, [f"package/{src}" for src in REVEAL_FILES])
    data = {dest: files[f"package/{src}"] for src, dest in REVEAL_FILES.items()}
    theme = f"theme/{REVEAL_THEME}.css"
    data[theme] = fonts_to_files(data[theme].decode("utf-8"), data, theme).encode("utf-8")
    for dest in ("reveal.css", theme):
        check_local_css(data[dest].decode("utf-8"), dest, data)
    for dest, content in data.items():
        path = out / REVEAL_DIR / dest
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return {"reveal_js": f"{REVEAL_DIR}/reveal.js", "reveal_css": f"{REVEAL_DIR}/reveal.css",
            "reveal_theme": f"{REVEAL_DIR}/{theme}"}


def fonts_to_files(css, data, css_path):
    """Replace each url(data:font/woff;base64,...) in css by the relative URL of the file in `data`
    (site path -> bytes) with the same bytes; a font with no such file is an error."""
    by_hash = {sha256_bytes(content): dest for dest, content in data.items() if dest.endswith(".woff")}

    def link(match):
        dest = by_hash.get(sha256_bytes(base64.b64decode(match.group(2))))
        if dest is None:
            raise BuildError(f"reveal.js {css_path} inlines a font that is none of {', '.join(FONT_FILES)}")
        return f"url({posixpath.relpath(dest, posixpath.dirname(css_path))})"

    return INLINE_FONT.sub(link, css)


def check_local_css(css, css_path, data):
    """Refuse an @import or url() that is not a data: URL or a relative link to one of the files."""
    for m in CSS_URL.finditer(css):
        url = m.group(2) if m.group(2) is not None else m.group(4)
        if url.startswith("data:"):
            continue
        target = posixpath.normpath(posixpath.join(posixpath.dirname(css_path), url.split("#")[0].split("?")[0]))
        if ":" in url or url.startswith("/") or target not in data:
            raise BuildError(f"reveal.js {css_path} refers to {url!r}, which is not vendored with it")
