"""Test the charset decision: byte-order marks, labels, and undeclared legacy code pages."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import pytest

from bot.ingest.charsets import decode_feed, feed_language, implausible_share, repair_charset
from bot.ingest.parse import parse_feed
from tests import corpus

RUSSIAN = (
    "Путин провёл встречу с премьер-министром в Кремле.",
    # KOI8-R has no guillemets or dashes.
    '"Переговоры были трудными", - сообщил пресс-секретарь. Ещё одна встреча пройдёт в мае.',
)
UKRAINIAN = (
    "Зеленський провів зустріч у Києві з міністрами оборони.",
    "Україна отримає ще чотири системи ППО; їхня доставка запланована на квітень, "
    "повідомив Генштаб.",
)
FRENCH = (
    "Le président a déclaré qu’il était prêt à négocier.",
    "Où en est la réforme ? À l’Élysée, on assure que « rien n’est décidé » – réunion à 14 h.",
)
GERMAN = (
    "Bundesregierung beschließt Maßnahmen für Bürger.",
    "Große Koalition prüft Änderungen – „schnell und gründlich“, heißt es aus dem Ministerium.",
)
PORTUGUESE = (
    "Oposição critica decisão do líder; ex-ministro está em prisão preventiva.",
    "A operação começou às 6h e também atingiu órgãos públicos de São Paulo, após denúncia.",
)


def undeclared_feed(sentences: tuple[str, ...], language: str | None) -> str:
    """Return an RSS document with no XML declaration, in the given language."""
    declared = f"<language>{language}</language>" if language else ""
    items = "".join(
        f"<item><title>{sentence}</title><description>{sentence} {sentences[0]}</description>"
        f"<guid>{n}</guid></item>"
        for n, sentence in enumerate(sentences)
    )
    return f'<rss version="2.0"><channel><title>News</title>{declared}{items}</channel></rss>'


UNDECLARED = {
    "ru-cp1251": (RUSSIAN, "ru", "cp1251"),
    "ru-cp1251-no-language": (RUSSIAN, None, "cp1251"),
    "ru-koi8r": (RUSSIAN, "ru-RU", "koi8-r"),
    "uk-cp1251": (UKRAINIAN, "uk", "cp1251"),
    "uk-cp1251-no-language": (UKRAINIAN, None, "cp1251"),
    "uk-koi8u": (UKRAINIAN, "uk-UA", "koi8-u"),
    "fr-cp1252": (FRENCH, "fr", "cp1252"),
    "fr-cp1252-no-language": (FRENCH, None, "cp1252"),
    "de-cp1252": (GERMAN, "de-DE", "cp1252"),
    "de-cp1252-no-language": (GERMAN, None, "cp1252"),
    "pt-latin1": (PORTUGUESE, "pt-BR", "iso8859-1"),
    "pt-latin1-no-language": (PORTUGUESE, None, "iso8859-1"),
}


@pytest.mark.parametrize(
    ("sentences", "language", "code_page"), UNDECLARED.values(), ids=UNDECLARED
)
def test_undeclared_legacy_feed_is_decoded_exactly(
    sentences: tuple[str, ...], language: str | None, code_page: str
) -> None:
    text = undeclared_feed(sentences, language)

    assert decode_feed(text.encode(code_page), None) == text


@pytest.mark.parametrize(
    ("sentences", "language", "code_page"), UNDECLARED.values(), ids=UNDECLARED
)
def test_undeclared_legacy_feed_parses_to_exact_titles(
    sentences: tuple[str, ...], language: str | None, code_page: str
) -> None:
    body = undeclared_feed(sentences, language).encode(code_page)

    parsed = parse_feed(body, {"content-type": "application/rss+xml"})

    assert [entry.title for entry in parsed.entries] == list(sentences)


@pytest.mark.parametrize(
    ("sentences", "code_page", "wrong_language"),
    [(RUSSIAN, "cp1251", "en"), (UKRAINIAN, "cp1251", "pt"), (FRENCH, "cp1252", "ru")],
    ids=["russian-labelled-en", "ukrainian-labelled-pt", "french-labelled-ru"],
)
def test_a_wrong_language_does_not_force_its_code_page(
    sentences: tuple[str, ...], code_page: str, wrong_language: str
) -> None:
    text = undeclared_feed(sentences, wrong_language)

    assert decode_feed(text.encode(code_page), None) == text


def test_western_text_read_as_cyrillic_is_implausible() -> None:
    # Accented letters turn into Cyrillic ones inside Latin words.
    for sentences in (PORTUGUESE, FRENCH, GERMAN):
        text = undeclared_feed(sentences, None)
        assert implausible_share(text) < 0.05
        assert implausible_share(text.encode("cp1252").decode("cp1251")) > 0.5


def test_cyrillic_read_as_western_or_the_other_cyrillic_page_is_implausible() -> None:
    text = undeclared_feed(RUSSIAN, None)

    assert implausible_share(text) < 0.05
    assert implausible_share(text.encode("cp1251").decode("cp1252")) > 0.5
    assert implausible_share(text.encode("cp1251").decode("koi8-r")) > 0.5
    assert implausible_share(text.encode("koi8-r").decode("cp1251")) > 0.5


def test_chinese_punctuation_inside_a_sentence_is_plausible() -> None:
    sentence = "中共中央改革小组提出总体方案，中国足协将与体育总局脱钩。"
    assert implausible_share(sentence) == 0.0


def test_invisible_formatting_characters_are_plausible() -> None:
    text = "Zero\u200bwidth space, soft\u00adhyphen, nim\u200cspace"

    assert implausible_share(text) == 0.0
    assert implausible_share("a stray control\x85 or symbol¤ is not") == 1.0


@pytest.mark.parametrize(
    ("head", "language"),
    [
        (b"<rss><channel><language>pt-BR</language>", "pt"),
        (b"<rss><channel><language> RU </language>", "ru"),
        (b"<rdf:RDF><channel><dc:language>uk</dc:language>", "uk"),
        (b'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="fr-FR">', "fr"),
        (b"<rss><channel><language></language>", None),
        (b"<rss><channel><title>No language</title>", None),
    ],
)
def test_feed_language(head: bytes, language: str | None) -> None:
    assert feed_language(head + b"</channel></rss>") == language


# ---- the order: BOM, UTF-8, HTTP charset, XML declaration, guess ----


def test_ascii_and_byte_order_marks_are_left_to_the_parser() -> None:
    utf16 = codecs.BOM_UTF16_LE + '<rss version="2.0"><title>Привет</title></rss>'.encode(
        "utf-16-le"
    )
    bom_then_latin1 = codecs.BOM_UTF8 + "<rss><title>Año</title></rss>".encode("iso8859-1")

    assert decode_feed(b'<?xml version="1.0" encoding="bogus"?><rss/>', "koi8-r") is None
    assert decode_feed(utf16, None) is None
    assert decode_feed(bom_then_latin1, None) is None


def test_utf8_bytes_are_utf8_whatever_the_labels_say() -> None:
    text = '<?xml version="1.0" encoding="windows-1251"?><rss><title>Привет</title></rss>'

    assert decode_feed(text.encode(), "iso-8859-1") == text
    assert decode_feed(text.encode(), None) == text
    assert decode_feed(text.replace("windows-1251", "utf-8").encode(), None) is None


def test_http_charset_comes_before_the_xml_declaration() -> None:
    text = '<?xml version="1.0" encoding="windows-1251"?><rss><title>Как дела</title></rss>'

    assert decode_feed(text.encode("koi8-r"), "KOI8-R") == text


def test_xml_declaration_is_used_when_http_names_no_charset_or_a_wrong_one() -> None:
    text = '<?xml version="1.0" encoding="koi8-r"?><rss><title>Как дела</title></rss>'

    assert decode_feed(text.encode("koi8-r"), None) == text
    assert decode_feed(text.encode("koi8-r"), "utf-8") == text
    assert decode_feed(text.encode("koi8-r"), "no-such-charset") == text


def test_latin1_and_ascii_labels_mean_windows_1252() -> None:
    # WHATWG: browsers read ISO-8859-1 as windows-1252, whose 0x80-0x9F are quotes and dashes.
    text = "<rss><title>“Quoted” – n’est-ce pas</title></rss>"
    body = text.encode("cp1252")

    assert decode_feed(body, "iso-8859-1") == text
    assert decode_feed(body, "us-ascii") == text


def test_utf8_label_on_legacy_bytes_is_a_lie() -> None:
    text = undeclared_feed(PORTUGUESE, None)
    declared = '<?xml version="1.0" encoding="utf-8"?>' + text

    assert decode_feed(declared.encode("iso8859-1"), "utf-8") == declared


def test_repair_relabels_declaration_and_content_type_as_utf8() -> None:
    text = '<?xml version="1.0" encoding="utf-8"?>' + undeclared_feed(FRENCH, "fr")
    headers = {"content-type": "application/rss+xml; charset=utf-8", "content-language": "fr"}

    body, repaired = repair_charset(text.encode("cp1252"), headers)

    assert body == text.encode("utf-8")
    assert repaired == headers
    unlabelled_body, unlabelled = repair_charset(undeclared_feed(FRENCH, None).encode("cp1252"), {})
    assert unlabelled == {"content-type": "application/xml; charset=utf-8"}
    assert unlabelled_body == undeclared_feed(FRENCH, None).encode("utf-8")


# ---- the shared corpus ----

needs_corpus = pytest.mark.skipif(not corpus.FEEDS.is_dir(), reason="feed corpus not present")


@needs_corpus
def test_uol_latin1_without_declaration_is_portuguese() -> None:
    body = (corpus.REAL / "uol-rss-1.xml").read_bytes()

    text = decode_feed(body, None)

    assert text == body.decode("iso8859-1")
    assert all(word in text for word in ("prisão", "líder", "oposição"))
    titles = [entry.title for entry in parse_feed(body, {}).entries]
    assert "Ibope: Bolsonaro perde de Haddad, Ciro e Alckmin em simulações de 2º turno" in titles


@needs_corpus
def test_french_latin1_without_declaration_is_french() -> None:
    body = (corpus.ILLFORMED / "cerclepsy-no-decl-latin1.xml").read_bytes()

    text = decode_feed(body, None)

    assert text == body.decode("iso8859-1")
    assert "pourraient être à l'origine" in text


@needs_corpus
@pytest.mark.parametrize(
    ("name", "code_page"),
    [
        ("fp-koi8r-undeclared.xml", "koi8-r"),
        ("fp-windows1255-undeclared.xml", "cp1255"),
        ("fp-shiftjis-undeclared.xml", "shift_jis"),
    ],
)
def test_undeclared_non_western_corpus_files_are_not_taken_for_western(
    name: str, code_page: str
) -> None:
    body = (corpus.ILLFORMED / name).read_bytes()

    assert decode_feed(body, None) == body.decode(code_page)


# Real feeds re-encoded in their languages' legacy code pages, declaration removed.
LEGACY_CODE_PAGES = {
    **dict.fromkeys(("de", "en", "es", "fr", "it", "pt"), ("cp1252",)),
    "ru": ("cp1251", "koi8-r"),
    "uk": ("cp1251", "koi8-u"),
}
XML_DECLARATION = re.compile(r"^\ufeff?\s*<\?xml[^>]*\?>")
DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding=["']([\w.:-]+)""")
LANGUAGE_MARKS = re.compile(r"<(?:\w+:)?language>[^<]*</(?:\w+:)?language>|\bxml:lang=\"[^\"]*\"")


def legacy_cases() -> list[tuple[Path, str]]:
    cases = []
    for path in sorted(corpus.REAL.iterdir()) if corpus.REAL.is_dir() else ():
        language = feed_language(path.read_bytes())
        cases += [(path, page) for page in LEGACY_CODE_PAGES.get(language or "", ())]
    return cases


@needs_corpus
@pytest.mark.parametrize("keep_language", [True, False], ids=["language", "no-language"])
@pytest.mark.parametrize(
    ("path", "code_page"), legacy_cases(), ids=lambda case: getattr(case, "name", case)
)
def test_real_feed_in_a_legacy_code_page_decodes_back(
    path: Path, code_page: str, keep_language: bool
) -> None:
    data = path.read_bytes()
    declared = DECLARED_ENCODING.match(data)
    text = XML_DECLARATION.sub("", data.decode(declared[1].decode() if declared else "utf-8"))
    if not keep_language:
        text = LANGUAGE_MARKS.sub("", text)
    body = text.encode(code_page, errors="replace")
    if body.isascii():
        pytest.skip("nothing outside ASCII once in this code page")

    assert decode_feed(body, None) == body.decode(code_page)
