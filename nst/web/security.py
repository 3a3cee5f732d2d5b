"""What stands between the page and the rest of the network: Host/Origin checks, unused routes, headers, the password.

Gradio never refuses a request for its Host or Origin header: its CORS middleware only withholds
an Access-Control-Allow-Origin header, and when a page reached through DNS rebinding sends Host
and Origin both set to the attacker's name, Gradio's own check finds them consistent. A web page
elsewhere could then drive this server through the victim's browser. HostOriginGuard refuses such
requests outright; it is pure ASGI, so it also covers the event streams and uploads.
"""

import hmac

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse

# Routes Gradio serves that this page never uses. Refused here, whatever Gradio's settings say:
# proxy= and file=<URL> make the server fetch other URLs; the REST routes (call/, api/)
# skip the queue; the rest are developer tools (live reload, the "vibe" editor, profiling,
# recordings, MCP), monitoring, or media streaming the page has no component for. (The page itself
# sends its unqueued events to run/predict.)
REFUSED_PATH_PREFIXES = (
    "/gradio_api/proxy=", "/gradio_api/file=http:", "/gradio_api/file=https:", "/gradio_api/file=//",
    "/gradio_api/call/", "/gradio_api/api/", "/gradio_api/mcp", "/gradio_api/dev/",
    "/gradio_api/vibe", "/gradio_api/undo-vibe", "/gradio_api/profiling", "/gradio_api/process_recording",
    "/gradio_api/stream/", "/gradio_api/openapi.json", "/monitoring", "/gradio_api/runs",
)

# Everything from this origin only, so the browser itself refuses any off-machine load (fonts,
# scripts, analytics). Gradio needs inline scripts (its config is an inline script), eval (its
# component loader) and inline styles; data: and blob: serve its icons and previews.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; media-src 'self' blob: data:; "
    "worker-src 'self' blob:; frame-ancestors 'none'; form-action 'self'; base-uri 'self'"
)
SECURITY_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)
_LOOPBACK_NAMES = ("127.0.0.1", "localhost")


def allowed_hosts(host, port):
    """The Host header values a browser sends for this server: host:port, and both loopback names on loopback.

    IPv6 addresses appear in brackets, as browsers write them.
    """
    names = {host.lower()}
    if host.lower() in _LOOPBACK_NAMES:
        names.update(_LOOPBACK_NAMES)
    if ":" in host and not host.startswith("["):
        names = {f"[{host.lower()}]"}
    return frozenset(f"{name}:{port}" for name in names)


class HostOriginGuard:
    """ASGI middleware: 403 for a Host that is not this server's, an Origin from elsewhere, or a refused route."""

    def __init__(self, app, hosts):
        self.app = app
        self.hosts = frozenset(host.lower() for host in hosts)
        self.origins = frozenset(f"http://{host}" for host in self.hosts)

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            problem = self.problem(Headers(scope=scope), scope.get("path", ""))
            if problem:
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                else:
                    await PlainTextResponse(f"Refused: {problem}.", status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def problem(self, headers, path):
        """Why a request is refused, in words, or None."""
        if headers.get("host", "").lower() not in self.hosts:
            return "this server answers only to its own address (Host header)"
        origin = headers.get("origin")
        # Browsers send Origin on cross-site requests and on every POST; same-site GETs may omit it.
        if origin is not None and origin.lower() not in self.origins:
            return "requests from other sites are not served (Origin header)"
        if path.lower().startswith(REFUSED_PATH_PREFIXES):
            return "this page does not use that route"
        return None


class SecurityHeaders:
    """ASGI middleware adding SECURITY_HEADERS to every HTTP response."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message = dict(message, headers=[*message.get("headers", []), *SECURITY_HEADERS])
            await send(message)

        await self.app(scope, receive, send_with_headers)


def password_check(password):
    """Gradio's auth callable for one password: any user name, the password compared in constant time.

    None (no password) gives None: no login page.
    """
    if password is None:
        return None
    expected = password.encode()

    def check(user_name, given_password):
        return hmac.compare_digest(str(given_password).encode(), expected)

    return check
