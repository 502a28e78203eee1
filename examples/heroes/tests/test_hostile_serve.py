"""`heroes serve` takes the flags operators expect, and they reach uvicorn: run as a user
runs it (a subprocess), the access log and the proxy headers behave as asked."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import httpx

HEROES = str(Path(sys.executable).with_name("heroes"))
FORWARDED = "203.0.113.7"


async def _serve_and_log(tmp_path: Path, *flags: str) -> str:
    """Start `heroes serve FLAGS`, send one request from a proxy that forwards for
    FORWARDED, stop the server; its log output."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'served.db'}"}
    env.pop("FORWARDED_ALLOW_IPS", None)
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            HEROES, "serve", "--port", str(port), *flags,
            env=env, stdout=output, stderr=output,
        )
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                for _ in range(240):  # bounded: up to a minute on a busy machine
                    try:
                        if (await client.get("/health")).status_code == 200:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.25)
                forwarded = await client.get(
                    "/heroes/", headers={"X-Forwarded-For": FORWARDED}
                )
                assert forwarded.status_code == 200
            if "--timeout-keep-alive" in flags:
                await _idle_connection_is_closed(port)
        finally:
            process.terminate()
            await asyncio.wait_for(process.wait(), timeout=30)
    return log.read_text()


async def _idle_connection_is_closed(port: int) -> None:
    """The server closes a keep-alive connection left idle (bounded wait: 30 s)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /health HTTP/1.1\r\nHost: heroes\r\n\r\n")
    await writer.drain()
    answer = await asyncio.wait_for(reader.readuntil(b'"ok"}'), 30)
    assert answer.startswith(b"HTTP/1.1 200")
    assert await asyncio.wait_for(reader.read(), 30) == b""  # closed by the server
    writer.close()


async def test_access_log_proxy_headers_and_keep_alive(tmp_path: Path) -> None:
    trusted = await _serve_and_log(
        tmp_path, "--forwarded-allow-ips", "127.0.0.1", "--timeout-keep-alive", "1",
        "--log-level", "info",
    )
    # The proxy's X-Forwarded-For is the client's address (access log and request.client).
    assert f'{FORWARDED}:0 - "GET /heroes/ HTTP/1.1" 200' in trusted
    assert "Uvicorn running" in trusted

    quiet = await _serve_and_log(
        tmp_path, "--no-access-log", "--no-proxy-headers", "--log-level", "warning"
    )
    assert "GET /heroes/" not in quiet and FORWARDED not in quiet
    assert "Uvicorn running" not in quiet  # an info line, below --log-level warning


async def test_serve_help_lists_the_flags() -> None:
    process = await asyncio.create_subprocess_exec(
        HEROES, "serve", "--help", stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "COLUMNS": "200"},
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    for flag in ("--log-level", "--no-access-log", "--proxy-headers", "--forwarded-allow-ips",
                 "--timeout-keep-alive"):
        assert flag in output.decode()


# --- the reverse proxy example -------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[3]
NGINX_CONF = ROOT / "examples" / "heroes" / "deploy" / "nginx.conf"


def _directives(text: str) -> list[str]:
    """nginx directives and braces, comments and spacing left out."""
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [" ".join(line.split()) for line in lines if line]


def test_nginx_example_matches_the_docs_and_the_service() -> None:
    from heroes.api.bulk import MAX_BODY_BYTES

    conf = NGINX_CONF.read_text()
    guide = (ROOT / "docs" / "deployment.md").read_text()
    block = guide.split("```nginx\n", 1)[1].split("```", 1)[0]
    assert _directives(block) == _directives(conf)
    directives = _directives(conf)
    assert f"client_max_body_size {MAX_BODY_BYTES // (1024 * 1024)}m;" in directives
    for needed in ("client_header_timeout", "client_body_timeout", "send_timeout",
                   "proxy_set_header X-Forwarded-For $remote_addr;"):
        assert any(line.startswith(needed) for line in directives), needed
    nginx = shutil.which("nginx")
    if nginx is not None:  # the syntax, checked where nginx is installed
        main = Path(os.environ.get("TMPDIR", "/tmp")) / "heroes-nginx-test.conf"
        main.write_text(f"events {{}}\nhttp {{\n include {NGINX_CONF};\n}}\n")
        checked = subprocess.run([nginx, "-t", "-c", str(main)], capture_output=True)
        assert checked.returncode == 0, checked.stderr.decode()
