"""The HTTP edge of the foundation: health, JSON errors, 404/405/413, metrics, base path."""
import socket
import uuid

import requests

from oauth_helpers import tokens_for


def test_health_is_ok_when_the_database_answers(base_url):
    response = requests.get(f"{base_url}/health")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == {"ok": True}


def test_unknown_route_is_a_json_404(base_url):
    response = requests.get(f"{base_url}/no/such/route")
    assert response.status_code == 404
    assert response.json() == {"error_code": "NOT_FOUND", "message": "No such resource."}


def test_unknown_method_on_a_known_path_is_405_with_allow(base_url):
    for method in ("POST", "PUT", "DELETE", "PATCH", "TRACE"):
        response = requests.request(method, f"{base_url}/health")
        assert response.status_code == 405, method
        assert response.headers["Allow"] == "GET"
        assert response.json()["error_code"] == "METHOD_NOT_ALLOWED"


def test_declared_body_over_the_limit_is_413(base_url):
    response = requests.post(f"{base_url}/health", data=b"x" * 70_000,
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error_code"] == "PAYLOAD_TOO_LARGE"


def test_chunked_body_over_the_limit_is_413(base_url):
    def chunks():
        for _ in range(20):
            yield b"y" * 8192

    response = requests.post(f"{base_url}/health", data=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error_code"] == "PAYLOAD_TOO_LARGE"


def test_small_chunked_body_reaches_routing(base_url):
    # Under the limit, the body is read and routing answers (405: /health takes no POST).
    response = requests.post(f"{base_url}/health", data=iter([b"{}"]), headers={"Content-Type": "application/json"})
    assert response.status_code == 405


def test_metrics_report_requests_by_route_and_status_and_the_pool(base_url):
    requests.get(f"{base_url}/health")
    requests.get(f"{base_url}/missing-for-metrics")
    response = requests.get(f"{base_url}/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    text = response.text
    health = [line for line in text.splitlines()
              if line.startswith("hb_requests{") and 'http_route="/health"' in line
              and 'http_request_method="GET"' in line and 'http_response_status_code="200"' in line]
    assert health and int(float(health[0].rsplit(" ", 1)[1])) >= 1
    assert any(line.startswith("hb_requests{") and 'http_response_status_code="404"' in line for line in text.splitlines())
    assert "http_server_request_duration_bucket{" in text
    for gauge in ("lockcloud_db_pool_in_use", "lockcloud_db_pool_waiting", "lockcloud_db_pool_size"):
        assert any(line.startswith(gauge + " ") for line in text.splitlines()), gauge
    # The request pool's size (default 8), not that of another pool (migrations, webhook delivery)
    # writing the same gauge.
    size = [line for line in text.splitlines() if line.startswith("lockcloud_db_pool_size ")]
    assert float(size[0].split()[1]) == 8, size


def test_base_path_prefixes_every_route(start_server, database_url):
    server = start_server(database_url, "--base-path", "/api/v1", wait=False).wait_healthy("/api/v1/health")
    assert requests.get(f"{server.url}/api/v1/health").json() == {"ok": True}
    assert requests.get(f"{server.url}/health").status_code == 404
    # The hand-written GET /locks/{lock_id} moves with the prefix like the generated routes.
    lock_url = f"{server.url}/api/v1/locks/{uuid.uuid4()}"
    refused = requests.get(lock_url)
    assert refused.status_code == 401 and refused.json()["error_code"] == "INVALID_TOKEN"
    assert requests.get(f"{server.url}/locks/{uuid.uuid4()}").status_code == 404


def test_malformed_http_gets_a_4xx_not_a_crash(base_url):
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(b"GARBAGE\r\n\r\n")
        reply = conn.recv(4096)
    assert reply.startswith(b"HTTP/1.1 4")
    assert requests.get(f"{base_url}/health").status_code == 200


def raw_request(base_url, data):
    host, port = base_url.removeprefix("http://").split(":")
    reply = b""
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(data)
        while chunk := conn.recv(65536):
            reply += chunk
    return reply


def test_a_body_the_http_parser_refuses_is_400_not_500(base_url):
    """Found by the fuzz suite: a chunk size that is not hex, or an unknown transfer coding, was
    thrown while the body was read and answered 500."""
    for framing in (b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", b"Transfer-Encoding: \xff\r\n\r\n"):
        reply = raw_request(base_url, b"POST /locks HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Type: application/json\r\n"
                                      + framing)
        assert reply.startswith(b"HTTP/1.1 400"), reply
    assert requests.get(f"{base_url}/health").status_code == 200


def test_a_query_that_is_not_name_value_pairs_is_400_not_500(base_url):
    """Found by the fuzz suite: the generated operations answered 500 to these queries."""
    token = tokens_for(base_url)["access_token"]
    for query in ("%ZZ", "%", "&&&", "?"):
        reply = raw_request(base_url, f"GET /locks?{query} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                                      f"Authorization: Bearer {token}\r\n\r\n".encode())
        assert reply.startswith(b"HTTP/1.1 400"), (query, reply)
        assert b'"error_code":"INVALID_REQUEST"' in reply
