"""A query finds its stories in any language and any grammatical case, through the real bot."""

from pathlib import Path

from bot.i18n import translator
from tests.e2e import POLL_TIMEOUT, Feeds, story, watching_bot

OKSANA = 4001  # her Telegram app speaks Ukrainian
ANN = 4002
UK = translator("uk")


async def test_a_ukrainian_reader_gets_russian_and_english_stories_about_ukraine(
    tmp_path: Path, feeds: Feeds
) -> None:
    paths = ("/ru.xml", "/en.xml", "/it.xml")
    async with watching_bot(tmp_path, feeds, *paths) as bot:
        welcome = await bot.ask(OKSANA, "/start", first_name="Оксана", language_code="uk")
        assert welcome.plain_text.startswith(UK.t("Hello, {name}!", name="Оксана"))
        report = await bot.ask(OKSANA, "/subscribe Україна", language_code="uk")
        assert UK.t("✅ Subscribed: {queries}", queries="Україна") in report.plain_text
        also = report.plain_text.splitlines()[-1]
        assert also.startswith("🌐 Україна також знаходить "), also
        names = also.removeprefix("🌐 Україна також знаходить ").split(", ")
        assert {"Украина", "Ukraine", "Ucraina"} <= set(names)

        russian = story(1, "Удары по энергосистеме Украины продолжаются", "<p>Подробности.</p>")
        feeds.publish("/ru.xml", russian, title="Лента", language="ru")
        [*_, first] = await bot.fake.wait_for_sent(OKSANA, count=3, timeout=POLL_TIMEOUT)
        assert first.plain_text.startswith(russian["title"])
        assert first.plain_text.splitlines()[-1] == UK.t("Matched: {queries}", queries="Україна")

        # Italian "nato" is "born": a story about a man born in Rome is no story about NATO.
        # Ann's alert shows it was matched; an alert to Oksana would come before the next one.
        await bot.ask(ANN, "/subscribe Roma OR NATO", language_code="en")
        unrelated = story(2, "Un uomo nato a Roma vince il premio", "<p>Nessuna notizia.</p>")
        feeds.publish("/it.xml", unrelated, title="Il Giornale", language="it")
        [*_, to_ann] = await bot.fake.wait_for_sent(ANN, count=2, timeout=POLL_TIMEOUT)
        assert to_ann.plain_text.startswith(unrelated["title"])
        assert to_ann.plain_text.splitlines()[-1] == "Matched: Roma OR NATO"

        english = story(3, "Ukraine's grid under attack again", "<p>Strikes overnight.</p>")
        feeds.publish("/en.xml", english, title="World Desk", language="en")
        [*_, second] = await bot.fake.wait_for_sent(OKSANA, count=4, timeout=POLL_TIMEOUT)
        assert second.plain_text.startswith(english["title"])
        assert second.plain_text.splitlines()[-1] == UK.t("Matched: {queries}", queries="Україна")
