"""The container image: the Dockerfile's essentials, its health check run for real, the
compose files, and (where a Docker daemon and the base image are at hand) a built image."""

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from fnmatch import fnmatch
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath

import pytest

from tests.botapi_fake import BotApiFake

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
# The base image the build test uses; it is never pulled (the test skips without it).
BASE_IMAGE = os.environ.get("NEWSHOUND_TEST_PYTHON_IMAGE", "python:3.11-slim")
TEST_IMAGE = "newshound:container-test"
TOKEN = "123456:TEST-TOKEN-abcdefghijklmnopqrstuvwxyz"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments out."""
    found: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        found.append((keyword.upper(), arguments.strip()))
        pending = ""
    return found


def final_stage(steps: list[tuple[str, str]]) -> list[tuple[str, str]]:
    last_from = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last_from:]


STEPS = instructions(DOCKERFILE.read_text(encoding="utf-8"))
FINAL = final_stage(STEPS)


def _one(keyword: str, steps: list[tuple[str, str]] = FINAL) -> str:
    [value] = [arguments for name, arguments in steps if name == keyword]
    return value


def _env(steps: list[tuple[str, str]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, arguments in steps:
        if name == "ENV":
            for pair in arguments.split():
                key, _, value = pair.partition("=")
                values[key] = value
    return values


def test_the_base_is_slim_python_3_11() -> None:
    assert ("ARG", "PYTHON_IMAGE=python:3.11-slim") in STEPS
    assert {arguments.split()[0] for name, arguments in STEPS if name == "FROM"} == {
        "${PYTHON_IMAGE}"
    }


def test_it_runs_as_a_non_root_user_before_the_entrypoint() -> None:
    keywords = [name for name, _ in FINAL]
    user = _one("USER")
    assert user.split(":")[0] not in ("root", "0", "")
    assert keywords.index("USER") < keywords.index("ENTRYPOINT")
    assert json.loads(_one("ENTRYPOINT")) == ["newshound"]
    assert json.loads(_one("CMD")) == ["run"]


def test_the_database_lives_on_a_volume() -> None:
    database = PurePosixPath(_env(FINAL)["DATABASE_PATH"])
    volumes = json.loads(_one("VOLUME"))
    assert str(database.parent) in volumes
    assert str(database.parent) == _one("WORKDIR")


def test_the_health_check_asks_healthz_on_http_port() -> None:
    healthcheck = _one("HEALTHCHECK")
    options, _, command = healthcheck.partition(" CMD ")
    assert "--interval=" in options and "--start-period=" in options
    argv = json.loads(command)
    assert "/healthz" in argv[-1] and "HTTP_PORT" in argv[-1]
    assert _env(FINAL)["HTTP_PORT"] == _one("EXPOSE")


def test_the_build_copies_only_the_package_and_no_secrets() -> None:
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for secret in (".env", "newshound.sqlite3", "newshound.sqlite3-wal", ".git", ".venv"):
        assert any(fnmatch(secret, pattern) for pattern in ignored), secret
    copied = [arguments.split()[:-1] for name, arguments in STEPS if name == "COPY"]
    sources = [source for parts in copied for source in parts if not source.startswith("--")]
    for source in sources:
        if not source.startswith("/"):  # the other stage's /opt/newshound
            assert (ROOT / source).exists(), source
            assert not any(fnmatch(source, pattern) for pattern in ignored), source


# --- the health check's command, run as Docker would run it ------------------------------


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        code = self.status if self.path == "/healthz" else 404
        self.send_response(code)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@contextmanager
def health_server(status: int) -> Iterator[int]:
    handler = type("Handler", (_Health,), {"status": status})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _run_healthcheck(port: int) -> int:
    argv = json.loads(_one("HEALTHCHECK").partition(" CMD ")[2])
    assert argv[0] == "python"
    environment = {"PATH": os.environ.get("PATH", ""), "HTTP_PORT": str(port)}
    result = subprocess.run(
        [sys.executable, *argv[1:]], env=environment, capture_output=True, timeout=30, check=False
    )
    return result.returncode


def test_the_health_check_passes_only_on_a_2xx_healthz() -> None:
    with health_server(200) as port:
        assert _run_healthcheck(port) == 0
    with health_server(503) as port:
        assert _run_healthcheck(port) == 1
    # Nothing listening any more on that port: unhealthy, not a hang.
    assert _run_healthcheck(port) == 1


# --- compose -----------------------------------------------------------------------------


def test_compose_runs_the_bot_with_its_data_on_a_volume() -> None:
    compose = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    assert "build: ." in compose
    assert "- newshound-data:/data" in compose
    assert "DATABASE_PATH: /data/newshound.sqlite3" in compose
    postgres = (ROOT / "compose.postgres.yaml").read_text(encoding="utf-8")
    assert "DATABASE_URL: postgresql://newshound:" in postgres
    assert "condition: service_healthy" in postgres


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
def test_compose_files_are_valid_and_merge(tmp_path: Path) -> None:
    for name in ("compose.yaml", "compose.postgres.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / ".env").write_text("BOT_TOKEN=1:x\n", encoding="utf-8")
    environment = {"PATH": os.environ.get("PATH", ""), "POSTGRES_PASSWORD": "s3cret"}
    merged = subprocess.run(
        ["docker-compose", "-f", "compose.yaml", "-f", "compose.postgres.yaml", "config"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert merged.returncode == 0, merged.stderr
    assert "DATABASE_URL: postgresql://newshound:s3cret@postgres:5432/newshound" in merged.stdout
    del environment["POSTGRES_PASSWORD"]
    refused = subprocess.run(
        ["docker-compose", "-f", "compose.yaml", "-f", "compose.postgres.yaml", "config"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode != 0 and "set POSTGRES_PASSWORD" in refused.stderr


# --- a real build, where a daemon and the base image are at hand -------------------------


def _docker(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def _docker_ready() -> str | None:
    """Why the build test cannot run here, or None."""
    if shutil.which("docker") is None:
        return "no docker CLI"
    if _docker("info").returncode != 0:
        return "no Docker daemon"
    if _docker("image", "inspect", BASE_IMAGE).returncode != 0:
        return f"base image {BASE_IMAGE} is not present (never pulled by the tests)"
    return None


@pytest.mark.slow
def test_the_image_builds_and_the_bot_starts_in_it() -> None:
    reason = _docker_ready()
    if reason is not None:
        pytest.skip(reason)
    # The build's pip needs the package index; the containers after it get no network.
    built = _docker(
        "build",
        "--network",
        "host",
        "--build-arg",
        f"PYTHON_IMAGE={BASE_IMAGE}",
        "-t",
        TEST_IMAGE,
        str(ROOT),
        timeout=900,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    helped = _docker("run", "--rm", "--network", "none", TEST_IMAGE, "--help")
    assert helped.returncode == 0, helped.stderr
    assert "feeds" in helped.stdout and "backup" in helped.stdout
    # No token: one line naming the setting, exit 2, never a traceback.
    bare = _docker("run", "--rm", "--network", "none", TEST_IMAGE)
    assert bare.returncode == 2
    assert bare.stderr.startswith("newshound: error: BOT_TOKEN is not set")
    assert bare.stderr.count("\n") == 1
    whoami = _docker("run", "--rm", "--network", "none", "--entrypoint", "id", TEST_IMAGE, "-u")
    assert whoami.stdout.strip() not in ("0", "")
    # The user may write on the volume, where its database goes.
    probe = "open('/data/probe', 'w').write('ok')"
    wrote = _docker(
        "run", "--rm", "--network", "none", "--entrypoint", "python", TEST_IMAGE, "-c", probe
    )
    assert wrote.returncode == 0, wrote.stderr
    _the_bot_runs_in_the_image_and_stops_cleanly()
    [config] = json.loads(_docker("image", "inspect", TEST_IMAGE).stdout)
    assert "/data" in config["Config"]["Volumes"]
    assert "/healthz" in " ".join(config["Config"]["Healthcheck"]["Test"])


def _the_bot_runs_in_the_image_and_stops_cleanly() -> None:
    """The bot in the container long-polls the Bot API fake (on this host's loopback) with
    its database on the volume, and `docker stop` ends it with status 0."""
    with BotApiFake(TOKEN) as fake:
        started = _docker(
            "run", "-d", "--network", "host",
            "-e", f"BOT_TOKEN={TOKEN}", "-e", f"TELEGRAM_API_URL={fake.url}",
            TEST_IMAGE,
        )  # fmt: skip
        assert started.returncode == 0, started.stderr
        container = started.stdout.strip()
        try:
            deadline = time.monotonic() + 60
            while fake.count_requests("getUpdates") == 0:
                assert time.monotonic() < deadline, _docker("logs", container).stderr[-2000:]
                time.sleep(0.1)
            listed = _docker("exec", container, "ls", "/data")
            assert "newshound.sqlite3" in listed.stdout
            assert _docker("stop", container).returncode == 0
            assert _docker("wait", container).stdout.strip() == "0"
        finally:
            _docker("rm", "-f", container)
