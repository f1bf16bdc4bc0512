"""The Dutch and French catalogues: complete, not fuzzy, placeholders kept, compiled, and loaded by Django."""

from __future__ import annotations

import ast
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import translation

from famhp.rules import assessment, sanctions

SOURCE = Path(__file__).resolve().parent.parent / "src" / "famhp"
LOCALE = SOURCE / "locale"
TRANSLATED = ("nl", "fr")
#: %(name)s and friends (Python %-format with a mapping), and {name} (str.format, the rules' explanation templates).
PLACEHOLDER = re.compile(r"%\([A-Za-z_]\w*\)[#0 +-]?\d*(?:\.\d+)?[sdifrxXeEgGc%]|\{[A-Za-z_]\w*\}")
KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+(".*")$')


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    line: int = 0


def parse_po(path: Path) -> list[Entry]:
    """A small PO parser: enough for what makemessages writes (obsolete #~ entries are skipped)."""
    entries: list[Entry] = []
    entry: Entry | None = None
    key: str | None = None
    parts: dict[str, list[str]] = {}

    def close() -> None:
        nonlocal entry, parts, key
        if entry is not None and parts:
            entry.msgid = "".join(parts.get("msgid", []))
            if "msgid_plural" in parts:
                entry.msgid_plural = "".join(parts["msgid_plural"])
            if "msgctxt" in parts:
                entry.msgctxt = "".join(parts["msgctxt"])
            for name, chunks in parts.items():
                if name == "msgstr":
                    entry.msgstr[0] = "".join(chunks)
                elif name.startswith("msgstr["):
                    entry.msgstr[int(name[7:-1])] = "".join(chunks)
            entries.append(entry)
        entry, parts, key = None, {}, None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            close()
            continue
        if line.startswith("#~"):
            continue
        if entry is None:
            entry = Entry(line=number)
        if line.startswith("#,"):
            entry.flags.update(flag.strip() for flag in line[2:].split(",") if flag.strip())
        elif line.startswith("#"):
            continue
        elif match := KEYWORD.match(line):
            if match.group(1) in parts:  # a new entry without a blank line before it
                close()
                entry = Entry(line=number)
            key = match.group(1)
            parts[key] = [ast.literal_eval(match.group(2))]
        elif line.startswith('"') and key is not None:
            parts[key].append(ast.literal_eval(line))
        else:
            raise AssertionError(f"{path}:{number}: unexpected line {raw!r}")
    close()
    return entries


def catalogue(language: str) -> list[Entry]:
    return parse_po(LOCALE / language / "LC_MESSAGES" / "django.po")


def messages(language: str) -> list[Entry]:
    """Every entry but the header."""
    return [entry for entry in catalogue(language) if entry.msgid]


def placeholders(text: str) -> set[str]:
    return {match for match in PLACEHOLDER.findall(text) if match != "%%"}


def label(entry: Entry) -> str:
    return f"line {entry.line}: {entry.msgid[:70]!r}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_catalogue_has_messages(language: str) -> None:
    assert len(messages(language)) > 100, "makemessages has not been run or the catalogue was truncated"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_translated_and_not_fuzzy(language: str) -> None:
    untranslated = []
    fuzzy = [label(entry) for entry in catalogue(language) if "fuzzy" in entry.flags]
    for entry in messages(language):
        expected = 2 if entry.msgid_plural is not None else 1
        strings = [entry.msgstr.get(index, "") for index in range(max(expected, len(entry.msgstr)))]
        if not all(text.strip() for text in strings):
            untranslated.append(label(entry))
    assert not untranslated, f"{language}: untranslated: {untranslated}"
    assert not fuzzy, f"{language}: fuzzy: {fuzzy}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_placeholders_kept(language: str) -> None:
    problems = []
    for entry in messages(language):
        for index, text in entry.msgstr.items():
            source = entry.msgid if index == 0 or entry.msgid_plural is None else entry.msgid_plural
            allowed = placeholders(entry.msgid) | placeholders(entry.msgid_plural or "")
            missing = placeholders(source) - placeholders(text)
            unknown = placeholders(text) - allowed
            if missing or unknown:
                problems.append(f"{label(entry)} msgstr[{index}]: missing {sorted(missing)}, unknown {sorted(unknown)}")
    assert not problems, f"{language}: " + "; ".join(problems)


@pytest.mark.parametrize("language", ("nl", "fr", "en"))
def test_compiled_catalogue_exists(language: str) -> None:
    compiled = LOCALE / language / "LC_MESSAGES" / "django.mo"
    assert compiled.is_file(), f"{compiled} is missing: run manage.py compilemessages"
    assert compiled.stat().st_size > 0


def test_rules_explanation_templates_are_in_the_catalogue() -> None:
    """The rules engine marks its templates with gettext_noop; makemessages must pick them up."""
    msgids = {entry.msgid for entry in messages("nl")}
    templates = [assessment.ACTIVITY_TAX, assessment.CONTRIBUTION, assessment.UNREGISTERED, sanctions.FINE]
    assert all(template in msgids for template in templates)


@pytest.mark.parametrize(
    ("language", "expected"),
    [("nl", "Mijn bijdragen"), ("fr", "Mes contributions"), ("en", "My contributions")],
)
def test_django_loads_the_translation(language: str, expected: str) -> None:
    with translation.override(language):
        assert translation.gettext("My contributions") == expected


def test_explanation_template_translated_and_formattable() -> None:
    with translation.override("nl"):
        template = translation.gettext(assessment.ACTIVITY_TAX)
    assert template != assessment.ACTIVITY_TAX
    rendered = template.format(entities=6, cost="379.48 EUR", tax="2,276.88 EUR")
    assert rendered.startswith("Activiteitenbelasting = 6 entiteiten")


def key(entry: Entry) -> tuple[str | None, str, str | None]:
    return entry.msgctxt, entry.msgid, entry.msgid_plural


def test_catalogues_up_to_date_with_the_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every message the code marks is in the committed catalogues: makemessages run on a copy of the sources
    (the project's locale folder left alone) finds no msgid that nl or fr lacks. Needs GNU gettext (xgettext,
    msgmerge): `make test` and .ci/run install the Debian package gettext."""
    if shutil.which("xgettext") is None or shutil.which("msguniq") is None:
        pytest.fail("GNU gettext is not installed (apt-get install gettext): makemessages cannot run")
    copy = tmp_path / "famhp"
    shutil.copytree(SOURCE, copy, ignore=shutil.ignore_patterns("locale", "__pycache__", "*.pyc"))
    monkeypatch.chdir(copy)
    with override_settings(LOCALE_PATHS=[copy / "locale"]):
        call_command("makemessages", locale=["nl"], no_location=True, no_obsolete=True, verbosity=0)
    extracted = {key(entry) for entry in parse_po(copy / "locale" / "nl" / "LC_MESSAGES" / "django.po") if entry.msgid}
    assert len(extracted) > 100, "makemessages extracted almost nothing: is the copy of the sources complete?"
    for language in TRANSLATED:
        missing = sorted(extracted - {key(entry) for entry in messages(language)}, key=lambda k: k[1])
        shown = [msgid[:70] for _context, msgid, _plural in missing[:20]]
        assert not missing, (
            f"{language}: {len(missing)} messages of the code are not in the catalogue; run makemessages "
            f"(cd src/famhp && django-admin makemessages -l nl -l fr -l en -l de --no-location --no-obsolete) "
            f"and translate them: {shown}"
        )
