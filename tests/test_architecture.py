"""The rules of ARCHITECTURE.md, checked on the code: who may import what, and room sizes."""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_MODULE_LINES = 300
MAX_CLASS_LINES = 250

# Pure code: plain data in, plain data out; no network, database or Telegram library.
PURE = (
    "bot/text/",
    "bot/matching/",
    "bot/render/",
    "bot/i18n/",
    "bot/storage/models.py",
    "bot/storage/protocols.py",
    "bot/storage/errors.py",
    "bot/ingest/stories.py",
    "bot/ingest/similar_titles.py",
    "bot/storage/edits.py",
    "bot/ingest/charsets.py",
    "bot/ingest/incremental.py",
    "bot/ingest/fastparse.py",
    "bot/ingest/feedstate.py",
    "bot/ingest/feedhandlers.py",
    "bot/ingest/feedtags.py",
    "bot/ingest/opml.py",
    "bot/delivery/burst.py",
    "bot/delivery/fanout.py",
    "bot/delivery/observed.py",
    "bot/metrics.py",
    "bot/storage/claims.py",
    "bot/storage/health.py",
    "bot/storage/instances.py",
    "bot/storage/rows.py",
    "bot/updates/flood.py",
    "bot/targets.py",
)
EDGE_LIBRARIES = (
    "telegram",
    "httpx",
    "httpcore",
    "aiohttp",
    "yarl",
    "aiosqlite",
    "sqlite3",
    "prometheus_client",
    "psycopg",
    "psycopg_pool",
)
# Where each edge library may be imported (prefixes of paths under the project root).
ALLOWED_AT = {
    "telegram": (
        "handlers/",
        "bot/delivery/worker.py",
        "bot/delivery/worker_errors.py",
        "bot/delivery/edits.py",
        "bot/delivery/markup.py",
        "bot/updates/traffic.py",
        "bot/receiving.py",
        "bot/services.py",
        "bot/app.py",
        "bot/cli.py",
        "bot/telegram_http.py",
    ),
    # The feed path speaks aiohttp; httpx stays only as python-telegram-bot's client.
    "httpx": (),
    "httpcore": (),
    # The feed client, the bot's own HTTP listeners (webhook, /healthz, /metrics) and the
    # transport of python-telegram-bot's requests.
    "aiohttp": (
        "bot/ingest/fetch.py",
        "bot/ingest/pinned_connector.py",
        "bot/web/",
        "bot/telegram_http.py",
    ),
    "yarl": ("bot/ingest/fetch.py", "bot/ingest/pinned_connector.py"),
    "aiosqlite": ("bot/storage/sqlite/",),
    "sqlite3": ("bot/storage/sqlite/",),
    # Everything else reports through bot.metrics.MetricsSink.
    "prometheus_client": ("bot/web/metrics.py",),
    "psycopg": ("bot/storage/postgres/",),
    "psycopg_pool": ("bot/storage/postgres/",),
}


def modules() -> Iterator[Path]:
    for top in ("bot", "handlers"):
        yield from sorted((ROOT / top).rglob("*.py"))


def imported(path: Path) -> set[str]:
    """Return the top-level and full names of every module the file imports."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names | {name.split(".")[0] for name in names}


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("path", list(modules()), ids=relative)
def test_edge_libraries_only_where_the_map_allows(path: Path) -> None:
    where = relative(path)
    for library in EDGE_LIBRARIES:
        if library in imported(path):
            assert where.startswith(ALLOWED_AT[library]), f"{where} imports {library}"


@pytest.mark.parametrize(
    "path", [p for p in modules() if relative(p).startswith(PURE)], ids=relative
)
def test_pure_modules_import_no_edge(path: Path) -> None:
    names = imported(path)
    assert not names & {*EDGE_LIBRARIES, "handlers"}, f"{relative(path)} is pure: {names}"


@pytest.mark.parametrize("path", list(modules()), ids=relative)
def test_only_the_composition_root_imports_handlers(path: Path) -> None:
    if relative(path).startswith("bot/") and relative(path) != "bot/app.py":
        assert "handlers" not in imported(path), relative(path)


@pytest.mark.parametrize("path", list(modules()), ids=relative)
def test_rooms_stay_small(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert len(source.splitlines()) <= MAX_MODULE_LINES, f"{relative(path)} is too long"
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef) and node.end_lineno is not None:
            length = node.end_lineno - node.lineno + 1
            assert length <= MAX_CLASS_LINES, f"{relative(path)}: class {node.name} {length}"


def test_every_package_says_what_lives_there() -> None:
    for init in ROOT.glob("*/**/__init__.py"):
        if relative(init).startswith(("bot/", "handlers/")):
            docstring = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
            assert docstring, f"{relative(init)} needs a docstring"


def test_the_map_names_every_package() -> None:
    architecture = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    for init in sorted(ROOT.glob("bot/**/__init__.py")):
        package = relative(init.parent) + "/"
        if package != "bot/":
            assert f"`{package}`" in architecture, f"ARCHITECTURE.md does not place {package}"
