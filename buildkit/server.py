"""The local server: the built folder over HTTP with the MIME types Pyodide needs and cache headers."""
import http.server
import sys
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

MIME_TYPES = {
    ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".mjs": "text/javascript",
    ".css": "text/css", ".json": "application/json", ".wasm": "application/wasm",
    ".zip": "application/zip", ".whl": "application/zip", ".svg": "image/svg+xml",
    ".png": "image/png", ".ico": "image/x-icon", ".py": "text/plain; charset=utf-8",
    # Chunks are gunzipped by the page itself: a Content-Encoding would make the browser do it first.
    ".gz": "application/octet-stream",
}


# As strict as Pyodide allows: everything from this origin only, no eval of strings ('wasm-unsafe-eval'
# lets WebAssembly compile, nothing else), no inline script or style. data: images are reveal.js's CSS
# icons; blob: images, a user's own picture. The built pages carry it as a <meta> too, but a worker
# takes its policy from its own response's headers only, so a host should send it (README).
CSP = ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:; "
       "font-src 'self'; connect-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'")


def cache_control(url_path, status):
    # pyodide/<version>/ holds files that never change; everything else must be revalidated so a
    # rebuild shows up at once (404s included, or a later file would stay hidden).
    if status == 200 and url_path.startswith("/pyodide/"):
        return "public, max-age=31536000, immutable"
    return "no-cache"


class Handler(http.server.SimpleHTTPRequestHandler):
    """Static files with the MIME types Pyodide needs, explicit cache headers and the site's
    Content-Security-Policy (csp: None for a folder that is not the built site)."""
    csp = CSP

    def guess_type(self, path):
        return MIME_TYPES.get(Path(path).suffix.lower()) or super().guess_type(path)

    def send_response(self, code, message=None):
        super().send_response(code, message)
        self.send_header("Cache-Control", cache_control(urlsplit(self.path).path, code))
        if self.csp:
            self.send_header("Content-Security-Policy", self.csp)


class Server(http.server.ThreadingHTTPServer):
    """A browser that drops a request half-way (a reload while a data chunk downloads, a closed tab)
    is ordinary: it is not reported. Any other error is, with its traceback, as by the standard server."""

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)):
            return
        super().handle_error(request, client_address)


def make_server(out_dir, host="127.0.0.1", port=8000, handler=None):
    """A Server for out_dir with `handler` (a subclass of Handler; Handler by default); port 0 picks
    a free port (see server.server_address)."""
    return Server((host, port), partial(handler or Handler, directory=str(out_dir)))


def serve(out, host, port):
    server = make_server(out, host, port)
    host, port = server.server_address[:2]
    print(f"Serving {out} at http://{host}:{port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
