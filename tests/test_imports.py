"""The code uses only python-telegram-bot's public API: private modules change without notice."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers")


def _modules() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def _imported_names(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def _is_private_telegram(name: str) -> bool:
    parts = name.split(".")
    return parts[0] == "telegram" and any(part.startswith("_") for part in parts[1:])


def test_the_scan_sees_every_module() -> None:
    found = {path.relative_to(ROOT).as_posix() for path in _modules()}
    assert {"bot/app.py", "handlers/reply.py", "handlers/subscriber.py"} <= found


@pytest.mark.parametrize(
    ("source", "private"),
    [
        ("from telegram._utils.types import ReplyMarkup", True),
        ("import telegram._bot", True),
        ("from telegram import _utils", True),
        ("from telegram.ext import ExtBot", False),
        ("from telegram.constants import ParseMode", False),
        ("from ._private import x", False),
    ],
)
def test_the_scan_recognises_private_imports(source: str, private: bool) -> None:
    assert any(map(_is_private_telegram, _imported_names(ast.parse(source)))) is private


@pytest.mark.parametrize("path", _modules(), ids=lambda path: path.relative_to(ROOT).as_posix())
def test_no_module_imports_private_telegram_modules(path: Path) -> None:
    private = [
        name
        for name in _imported_names(ast.parse(path.read_text(encoding="utf-8")))
        if _is_private_telegram(name)
    ]
    assert private == [], f"{path.name} imports python-telegram-bot's private {private}"
