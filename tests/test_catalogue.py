"""Every text a person reads comes from the message catalogue, and the catalogue matches code.

Two checks keep code and bot/i18n/locale/*/LC_MESSAGES/messages.po in step: handlers and
renderers may not build prose inline (an AST scan), and every msgid the code asks for is in
the catalogue, every catalogue entry is asked for, with all its plural forms and the same
{placeholders}.
"""

import ast
import fnmatch
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from string import Formatter

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from bot.i18n import DEFAULT_LOCALE, LOCALE_DIR, t, tn, translator
from bot.i18n.catalogue import compiled

ROOT = Path(__file__).resolve().parent.parent
PO_FILES = sorted(LOCALE_DIR.glob("*/LC_MESSAGES/messages.po"))
# Modules that build what a person reads, found by glob so moves between packages keep
# them scanned: handlers, renderers, the delivery worker (digest header) and alert formatting.
SCANNED = (
    "handlers/**/*.py",
    "bot/render/**/*.py",
    "bot/delivery*.py",
    "bot/delivery/**/*.py",
    "bot/formatting.py",
)
CATALOGUE_FUNCTIONS = frozenset({"t", "tn", "N_"})
LOGGERS = frozenset({"log", "logger", "logging"})
# Strings with words in them that no person reads in Telegram.
ALLOWED = frozenset(
    {
        "user is ",  # why delivery dropped a row: stored for the operator, never sent
    }
)
_WORDS = re.compile(r"[^\W\d_]{2,}")
_CAPITALISED = re.compile(r"\b[A-Z][a-z]+\b")
_TAG = re.compile(r"<[^>]*>|&\w+;")


def looks_like_prose(text: str) -> bool:
    """Tell whether a string constant reads as words for a person (not a key or markup)."""
    visible = _TAG.sub(" ", text)
    tokens = [token for token in visible.split() if _WORDS.search(token)]
    return len(tokens) >= 2 or _CAPITALISED.search(visible) is not None


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _receiver(node: ast.expr) -> str:
    return _name(node.value) if isinstance(node, ast.Attribute) else ""


def _docstrings(tree: ast.Module) -> set[int]:
    """Return the ids of docstring nodes (module, classes, functions)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
        ):
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def inline_prose(source: str) -> list[tuple[int, str]]:
    """Return (line, text) of each prose string built outside the catalogue."""
    tree = ast.parse(source)
    skipped = _docstrings(tree)
    for node in ast.walk(tree):
        exempt: list[ast.AST] = []
        if isinstance(node, ast.Call) and (
            _name(node.func) in CATALOGUE_FUNCTIONS
            or _receiver(node.func) in LOGGERS
            or _receiver(node.func) == "re"  # regular expressions
        ):
            exempt.append(node)
        elif isinstance(node, ast.Raise | ast.Assert):
            exempt.append(node)  # exceptions and assertions are for developers
        elif isinstance(node, ast.keyword) and node.arg == "name":
            exempt.append(node)  # task and job names
        elif isinstance(node, ast.arg | ast.AnnAssign) and node.annotation is not None:
            exempt.append(node.annotation)  # quoted type annotations
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns:
            exempt.append(node.returns)
        for root in exempt:
            skipped.update(id(child) for child in ast.walk(root))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in skipped
        and node.value not in ALLOWED
        and looks_like_prose(node.value)
    ]


def _scanned_modules() -> list[Path]:
    return sorted({path for pattern in SCANNED for path in ROOT.glob(pattern)})


def _code_modules() -> Iterator[Path]:
    for top in ("bot", "handlers"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if LOCALE_DIR.parent not in path.parents:  # bot/i18n defines t; it does not call it
                yield path


def msgids_in_code() -> dict[str | tuple[str, str], str]:
    """Return every literal msgid the code asks for, with where it is asked."""
    found: dict[str | tuple[str, str], str] = {}
    for path in _code_modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or _name(node.func) not in CATALOGUE_FUNCTIONS:
                continue
            literals = [
                arg.value
                for arg in node.args[:2]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
            ]
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if _name(node.func) == "tn" and len(literals) == 2:
                found[(literals[0], literals[1])] = where
            elif _name(node.func) != "tn" and literals:
                found[literals[0]] = where
    return found


def _catalogue(path: Path) -> Catalog:
    with path.open("rb") as file:
        return read_po(file)


def _fields(text: str) -> set[str]:
    """Return the {placeholders} of a message, with conversion and format spec."""
    return {
        f"{name}!{conversion or ''}:{spec or ''}"
        for _, name, spec, conversion in Formatter().parse(text)
        if name is not None
    }


def test_the_scan_finds_the_modules_that_build_texts() -> None:
    scanned = {path.relative_to(ROOT).as_posix() for path in _scanned_modules()}
    assert "handlers/subscriber.py" in scanned
    assert any(path.startswith("bot/render/") for path in scanned)
    assert any("delivery" in path for path in scanned)


def test_the_scan_catches_inline_english() -> None:
    source = (
        '"""Docstrings are for developers."""\n'
        'log.info("Chat %s blocked the bot", 1)\n'
        'reply(message, t("Sent to {n}", n=2))\n'
        'reply(message, "Sorry, that failed.")\n'
        'button = Button(f"Send to {count}", callback_data="bc:ok")\n'
        'html = f"<b>{title}</b>"\n'
    )
    assert [line for line, _ in inline_prose(source)] == [4, 5]


@pytest.mark.parametrize("path", _scanned_modules(), ids=lambda path: path.name)
def test_handlers_and_renderers_build_no_english_inline(path: Path) -> None:
    found = inline_prose(path.read_text(encoding="utf-8"))
    assert not found, f"{path.relative_to(ROOT)}: use bot.i18n.t/tn for {found}"


@pytest.mark.parametrize("po", PO_FILES, ids=lambda path: path.parts[-3])
def test_code_and_catalogue_have_the_same_msgids(po: Path) -> None:
    in_code = msgids_in_code()
    in_catalogue = {message.id for message in _catalogue(po) if message.id}
    missing = {msgid: where for msgid, where in in_code.items() if msgid not in in_catalogue}
    assert not missing, f"add to {po.name}: {missing}"
    stale = in_catalogue - in_code.keys()
    assert not stale, f"no code asks for these any more: {stale}"


def _entries(po: Path) -> Iterator[tuple[tuple[str, ...], tuple[str, ...], bool]]:
    """Yield (msgids, translations, fuzzy) of each entry; one msgid unless plural."""
    for message in _catalogue(po):
        ids = (message.id,) if isinstance(message.id, str) else tuple(message.id)
        if ids == ("",):
            continue  # the header
        string = message.string
        strings = (string,) if isinstance(string, str) else tuple(string or ())
        yield ids, strings, message.fuzzy


@pytest.mark.parametrize("po", PO_FILES, ids=lambda path: path.parts[-3])
def test_every_entry_is_translated_with_its_plural_forms_and_placeholders(po: Path) -> None:
    catalogue = _catalogue(po)
    assert catalogue.num_plurals >= 1 and catalogue.plural_expr
    for ids, strings, fuzzy in _entries(po):
        assert not fuzzy, ids
        assert all(strings), ids
        if len(ids) == 1:
            assert len(strings) == 1, ids
            assert _fields(strings[0]) == _fields(ids[0]), ids
            continue
        singular, plural = ids
        assert len(strings) == catalogue.num_plurals, ids
        assert _fields(singular) == _fields(plural), ids
        for form in strings:
            # A form used only for n == 1 may spell the number out instead of {n}.
            assert _fields(form) - {"n!:"} == _fields(plural) - {"n!:"}, (ids, form)


def test_english_is_the_source_text() -> None:
    po = LOCALE_DIR / DEFAULT_LOCALE / "LC_MESSAGES" / "messages.po"
    for ids, strings, _ in _entries(po):
        assert strings == ids


def test_messages_and_plurals_come_from_the_compiled_catalogue() -> None:
    assert t("Alerts are already on.") == "Alerts are already on."
    assert [tn("{n} alert sent", "{n} alerts sent", n) for n in (0, 1, 2)] == [
        "0 alerts sent",
        "1 alert sent",
        "2 alerts sent",
    ]
    assert translator(DEFAULT_LOCALE) is translator()


@pytest.mark.parametrize("po", PO_FILES, ids=lambda path: path.parts[-3])
def test_the_compiled_catalogue_holds_every_entry(po: Path) -> None:
    locale = po.parts[-3]
    translations = compiled(locale)
    assert translations.info()["language"] == locale
    for ids, strings, _ in _entries(po):
        if len(ids) == 1:
            assert translations.gettext(ids[0]) == strings[0]
        else:
            forms = {translations.ngettext(ids[0], ids[1], n) for n in range(200)}
            assert forms == set(strings), ids


def test_the_catalogue_ships_in_the_package() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["bot"]
    for po in PO_FILES:
        inside = po.relative_to(ROOT / "bot").as_posix()
        assert any(fnmatch.fnmatch(inside, pattern) for pattern in patterns), inside
