"""scripts/ci/federated-token.sh keeps a fresh GitHub OIDC token in AZURE_FEDERATED_TOKEN_FILE
for the whole job. GitHub's token endpoint cannot run here: a stand-in HTTP server plays it
(the part under test, the script, runs for real with curl and bash)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "ci" / "federated-token.sh"
REQUEST_TOKEN = "request-token-for-this-job"


class StandInGitHub:
    """GitHub's ACTIONS_ID_TOKEN_REQUEST_URL, stood in for: a new token per request."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, list[str]], str]] = []
        self.failing = False
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                outer.requests.append((query, self.headers.get("Authorization", "")))
                if outer.failing:
                    self.send_response(403)  # not retried by curl
                    self.end_headers()
                    return
                body = f'{{"value": "id-token-{len(outer.requests)}"}}'.encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{port}/token?api-version=2.0"


@pytest.fixture
def github() -> Iterator[StandInGitHub]:
    stand_in = StandInGitHub()
    yield stand_in
    stand_in.server.shutdown()


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        ["bash", str(SCRIPT), *args], env=base | env, capture_output=True, text=True, timeout=60
    )


def wait_for(check, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def test_refuses_a_job_without_an_oidc_token(tmp_path: Path) -> None:
    result = run({"RUNNER_TEMP": str(tmp_path)})
    assert result.returncode != 0
    assert "id-token: write" in result.stderr
    assert not (tmp_path / "azure-federated-token").exists()


def test_writes_a_token_and_keeps_it_fresh_for_the_job(
    tmp_path: Path, github: StandInGitHub
) -> None:
    github_env = tmp_path / "github-env"
    env = {
        "ACTIONS_ID_TOKEN_REQUEST_URL": github.url,
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": REQUEST_TOKEN,
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_ENV": str(github_env),
        "FEDERATED_TOKEN_REFRESH_SECONDS": "1",
    }
    result = run(env)
    assert result.returncode == 0, result.stderr
    token = tmp_path / "azure-federated-token"
    refresher = int((tmp_path / "azure-federated-token.pid").read_text())
    try:
        assert token.read_text() == "id-token-1"
        assert stat.S_IMODE(token.stat().st_mode) == 0o600
        assert github_env.read_text() == f"AZURE_FEDERATED_TOKEN_FILE={token}\n"
        query, authorization = github.requests[0]
        assert query["audience"] == ["api://AzureADTokenExchange"]
        assert query["api-version"] == ["2.0"]
        assert authorization == f"bearer {REQUEST_TOKEN}"
        # Renewed in the background, after the step that started it has ended.
        assert wait_for(lambda: token.read_text() not in ("id-token-1", ""))
        # A failed renewal keeps the last good token rather than an empty file.
        github.failing = True
        log = tmp_path / "azure-federated-token.log"
        assert wait_for(lambda: "refresh failed" in log.read_text(), seconds=30)
        assert token.read_text().startswith("id-token-")
    finally:
        os.kill(refresher, signal.SIGTERM)


def test_a_bad_refresh_interval_is_refused(tmp_path: Path, github: StandInGitHub) -> None:
    env = {
        "ACTIONS_ID_TOKEN_REQUEST_URL": github.url,
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": REQUEST_TOKEN,
        "FEDERATED_TOKEN_REFRESH_SECONDS": "4m",
    }
    result = run(env, str(tmp_path / "token"))
    assert result.returncode != 0 and "whole seconds" in result.stderr
