"""nst.web.security: requests for another Host, from another Origin or to a refused route get 403; headers; password."""

import warnings

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from nst.web import security

with warnings.catch_warnings():
    # Starlette 1.x would rather its test client ran on httpx2; httpx (Gradio's) still works.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

HOSTS = security.allowed_hosts("127.0.0.1", 7860)


@pytest.fixture
def client():
    async def hello(request):
        return PlainTextResponse("hello")

    app = Starlette(routes=[Route("/{path:path}", hello, methods=["GET", "POST"])])
    app.add_middleware(security.SecurityHeaders)
    app.add_middleware(security.HostOriginGuard, hosts=HOSTS)
    return TestClient(app, base_url="http://127.0.0.1:7860")


def test_allowed_hosts_are_the_address_and_on_loopback_both_loopback_names():
    assert HOSTS == {"127.0.0.1:7860", "localhost:7860"}
    assert security.allowed_hosts("192.168.1.5", 80) == {"192.168.1.5:80"}
    assert security.allowed_hosts("::1", 7860) == {"[::1]:7860"}


def test_the_served_address_is_answered_with_the_security_headers(client):
    response = client.get("/", headers={"Origin": "http://localhost:7860"})
    assert response.status_code == 200 and response.text == "hello"
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    assert response.headers["x-frame-options"] == "DENY" and response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("headers", [
    {"Host": "attacker.example:7860"},  # DNS rebinding: the attacker's name resolves to 127.0.0.1
    {"Host": "attacker.example:7860", "Origin": "http://attacker.example:7860"},
    {"Host": "127.0.0.1:7861"},
    {"Origin": "http://attacker.example"},
    {"Origin": "https://127.0.0.1:7860"},
    {"Origin": "null"},
])
def test_another_host_or_origin_is_refused(client, headers):
    response = client.post("/gradio_api/upload", headers=headers)
    assert response.status_code == 403 and response.text.startswith("Refused: ")


@pytest.mark.parametrize("path", ["/gradio_api/proxy=http://example.com/", "/gradio_api/file=https://example.com/a",
                                  "/gradio_api/call/predict", "/gradio_api/vibe-code", "/monitoring",
                                  "/gradio_api/mcp/sse", "/gradio_api/openapi.json", "/gradio_api/dev/reload"])
def test_routes_the_page_never_uses_are_refused(client, path):
    assert client.get(path).status_code == 403


def test_the_routes_the_page_uses_pass(client):
    for path in ("/config", "/gradio_api/run/predict", "/gradio_api/queue/join", "/gradio_api/file=/tmp/x.png",
                 "/gradio_api/upload", "/gradio_api/heartbeat/abc"):
        assert client.get(path).status_code == 200, path


def test_the_password_check_takes_any_user_name_and_only_the_password():
    check = security.password_check("correct horse")
    assert check("anyone", "correct horse") and check("", "correct horse")
    assert not check("anyone", "correct") and not check("anyone", "correct horse ")
    assert security.password_check(None) is None
