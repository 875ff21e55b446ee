"""A company's website on another origin, for the tests of the widget on other websites
(no Django here: bench/media_load.py imports the e2e conftest before Django is set up)."""

import contextlib
import http.server
import threading


@contextlib.contextmanager
def shop_site(snippet: str, *, port: int):
    """A company's website on another origin (localhost, not 127.0.0.1, another port)."""
    page = f"""<!doctype html>
<html><head><meta name="viewport" content="width=device-width, initial-scale=1">
<title>ACME shop</title>
<style>body {{ font-family: serif; }} h1 {{ color: rgb(0, 128, 0); }}</style>
</head><body><h1>ACME shop</h1><p>Our products.</p>{snippet}</body></html>""".encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{port}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
