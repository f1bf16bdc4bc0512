"""The invoice PDF written directly (ADR 17, addendum): the page WeasyPrint makes of
templates/billing/invoice_pdf.html and invoice_pdf.css, laid out here for the common document, and the PDF
written by hand.

WeasyPrint takes about 77 ms of CPU for one invoice even with nothing of ours around it (style, layout through
Pango, drawing, font subsetting); the target is 66 ms all in. This module places the same text runs at the same
coordinates (to a thousandth of a px: tests/billing/test_invoice_pdf_layout.py compares them with WeasyPrint's)
in two or three milliseconds, and writes the PDF in as many:

- the fonts are those fontconfig gives WeasyPrint: DejaVu Sans and DejaVu Sans Bold (the stylesheet's family)
  and DejaVu Serif (the page footer's: margin boxes inherit the user agent's serif, not the body's font); each
  is reduced once per process to Latin-1, Latin Extended-A, the typographic punctuation and the euro sign, and
  a document embeds only the glyphs it uses, renumbered (as WeasyPrint's subsets do);
- a text's width is the sum of its glyphs' advances and GPOS pair kerning, after the 'liga' ligatures, each
  value rounded to Pango's 1/1024 px at the size WeasyPrint gives Pango (``int(size × 1024)``); the line
  height is the font's hhea ascent and descent, rounded the same way; a line breaks at its last break
  opportunity that fits (a space, after a hyphen or a slash, before a dash), as Pango breaks this text;
- the two tables are laid out with the automatic table layout as WeasyPrint 70 computes it, the collapsed
  borders split between the rows; the payment box is the fixed table of the stylesheet, vertically centred.

What it does not lay out exactly it refuses (``Unsupported``) and billing/documents.py has WeasyPrint render
that document: a character outside the reduced fonts (another script: "Ωmega", "株式会社"; a soft hyphen; a
control character), a word wider than its line, a document longer than one page, or a machine whose fontconfig
does not give the DejaVu fonts.
"""

from __future__ import annotations

import re
import struct
import subprocess
import threading
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

#: CSS px in a mm and in a pt
MM = 96 / 25.4
PT = 4 / 3
PAGE_WIDTH, PAGE_HEIGHT = 210 * MM, 297 * MM
MARGIN_X, MARGIN_Y = 16 * MM, 18 * MM
BODY_MARGIN = 8.0  # the user agent's body margin
LEFT = MARGIN_X + BODY_MARGIN
WIDTH = PAGE_WIDTH - 2 * LEFT
TOP = MARGIN_Y + BODY_MARGIN
BOTTOM = PAGE_HEIGHT - MARGIN_Y  # the page area's bottom edge

#: font sizes of the stylesheet, px
BODY, H1, SMALL, OGM = 9.5 * PT, 16 * PT, 8 * PT, 13 * PT
CELL_PAD_Y, CELL_PAD_X = 1.5 * MM, 1 * MM
RULE = 0.3 * PT  # the cells' bottom border
TOTAL_RULE = 1 * PT

#: the fonts fontconfig gives WeasyPrint for the stylesheet's "DejaVu Sans" and for the page's margin boxes,
#: which inherit the user agent's default family (serif), not the body's: name, fontconfig pattern, the family
#: the metrics here are written for
FONTS = {
    "regular": ("DejaVu Sans:regular", "DejaVu Sans"),
    "bold": ("DejaVu Sans:bold", "DejaVu Sans"),
    "serif": ("serif:regular", "DejaVu Serif"),
}

#: the characters the reduced fonts hold: Latin-1 but the soft hyphen (Pango hides it unless it breaks a
#: line), Latin Extended-A, the Romanian commas, typographic punctuation (dashes, quotes, bullets, ellipsis,
#: per mille, narrow no-break space), the euro and minus signs: every text of the catalogues
REDUCED = frozenset(
    [
        *range(0x20, 0x7F),
        *range(0xA0, 0xAD),
        *range(0xAE, 0x180),
        *range(0x218, 0x21C),
        *range(0x2010, 0x2028),
        *range(0x2030, 0x203B),
        0x202F,
        0x20AC,
        0x2212,
    ]
)
#: the footer's characters (the invoice number, its page count), in the margin boxes' serif font
FOOTER_CHARACTERS = frozenset([*range(0x20, 0x7F), 0xB7])
#: white space of HTML, collapsed to one space as the template's text is
HTML_SPACE = str.maketrans({"\n": " ", "\t": " ", "\r": " ", "\f": " "})
SPACES = re.compile(" {2,}")


class Unsupported(Exception):
    """The document needs something only WeasyPrint lays out (another script, an overflowing word, a second
    page): render it with WeasyPrint."""


def supported(text: str, characters: frozenset[int] = REDUCED) -> bool:
    return all(ord(character) in characters for character in text.translate(HTML_SPACE))


# --- fonts ----------------------------------------------------------------------------------------------------

#: a pair-kerning subtable of GPOS: glyph-pair values (format 1) or class-pair values (format 2)
PairTable = tuple[dict[int, int], dict[tuple[int, int], int], dict[int, int], dict[int, int], list[list[int]]]
Shaped = tuple[list[int], list[int]]  # glyph ids; each glyph's advance plus its kerning with the next, Pango units


@dataclass
class Face:
    """One font reduced to its characters (glyph ids retained): the metrics to lay out text in font units, and
    each glyph's outline to embed the glyphs a document uses."""

    name: str
    upem: int
    ascent: int
    descent: int
    glyph: dict[int, int]  # character → glyph id
    advance: list[int]
    ligatures: dict[int, list[tuple[tuple[int, ...], int]]]  # first glyph → (following glyphs, ligature)
    kerning: list[PairTable]
    outlines: dict[int, bytes]  # glyph id → its 'glyf' record, hinting removed
    components: dict[int, list[int]]  # a composite glyph → the glyphs it is made of
    side_bearing: list[int]
    tables: dict[str, bytes]  # head, hhea, maxp, OS/2, post of the font
    text_of: dict[int, str]  # glyph id → the characters it shows (ToUnicode)
    bbox: tuple[int, int, int, int]
    cache: dict[tuple[str, int], Shaped] = field(default_factory=dict)

    def kern(self, left: int, right: int) -> int:
        for coverage, pairs, first, second, classes in self.kerning:
            if left not in coverage:
                continue
            if classes:
                return int(classes[first.get(left, 0)][second.get(right, 0)])
            value = pairs.get((left, right))
            if value is not None:
                return value
        return 0

    def shape(self, text: str, size: int) -> Shaped:
        """Glyph ids and each glyph's advance plus its kerning with the next one, in Pango units (1/1024 px)
        at ``size`` Pango units: HarfBuzz's 'liga' and 'kern' for Latin text, each value rounded."""
        key = (text, size)
        shaped = self.cache.get(key)
        if shaped is not None:
            return shaped
        glyphs = [self.glyph[ord(character)] for character in text]
        index = 0
        while index < len(glyphs):
            for rest, ligature in self.ligatures.get(glyphs[index], ()):
                end = index + 1 + len(rest)
                if tuple(glyphs[index + 1 : end]) == rest:
                    glyphs[index:end] = [ligature]
                    break
            index += 1
        scale = size / self.upem
        advances = []
        for position, glyph in enumerate(glyphs):
            kern = self.kern(glyph, glyphs[position + 1]) if position + 1 < len(glyphs) else 0
            advances.append(round(self.advance[glyph] * scale) + (round(kern * scale) if kern else 0))
        if len(self.cache) > 10_000:  # names and amounts differ from one invoice to the next
            self.cache.clear()
        shaped = self.cache[key] = (glyphs, advances)
        return shaped

    def width(self, text: str, size: int) -> int:
        """The width of ``text`` shaped alone, Pango units (the last glyph has no kerning after it)."""
        return sum(self.shape(text, size)[1]) if text else 0

    def line_metrics(self, size: int) -> tuple[int, int]:
        """Ascent and descent in Pango units, as Pango reports them (hhea, rounded)."""
        return round(size * self.ascent / self.upem), round(size * self.descent / self.upem)

    def program(self, used: Iterable[int]) -> tuple[dict[int, int], bytes]:
        """The TrueType font of the glyphs a document uses (and the components of its composite glyphs),
        renumbered from 0 (.notdef): the new number of each glyph, and the font file."""
        wanted = {0, *used}
        pending = [glyph for glyph in wanted if glyph in self.components]
        while pending:
            for component in self.components[pending.pop()]:
                if component not in wanted:
                    wanted.add(component)
                    if component in self.components:
                        pending.append(component)
        order = sorted(wanted)
        number = {glyph: index for index, glyph in enumerate(order)}
        glyf = bytearray()
        offsets = []
        for glyph in order:
            offsets.append(len(glyf))
            outline = self.outlines.get(glyph, b"")
            if glyph in self.components:
                outline = _renumbered(outline, number)
            glyf += outline + b"\0" * (-len(outline) % 4)
        offsets.append(len(glyf))
        count = len(order)
        tables = {
            "OS/2": self.tables["OS/2"],
            "glyf": bytes(glyf),
            "head": self.tables["head"][:8] + b"\0\0\0\0" + self.tables["head"][12:50] + b"\0\1" + b"\0\0",
            "hhea": self.tables["hhea"][:34] + struct.pack(">H", count),
            "hmtx": b"".join(struct.pack(">Hh", self.advance[g], self.side_bearing[g]) for g in order),
            "loca": struct.pack(f">{count + 1}L", *offsets),
            "maxp": self.tables["maxp"][:4] + struct.pack(">H", count) + self.tables["maxp"][6:],
            "post": b"\0\3\0\0" + self.tables["post"][4:32],
        }
        return number, _font_file(tables)


def _renumbered(outline: bytes, number: dict[int, int]) -> bytes:
    """A composite glyph's record with its components' glyph ids renumbered."""
    data = bytearray(outline)
    offset = 10
    while True:
        flags, component = struct.unpack_from(">HH", data, offset)
        struct.pack_into(">H", data, offset + 2, number[component])
        offset += 4 + (4 if flags & 0x0001 else 2)
        offset += 2 if flags & 0x0008 else 4 if flags & 0x0040 else 8 if flags & 0x0080 else 0
        if not flags & 0x0020:
            return bytes(data)


def _checksum(data: bytes) -> int:
    padded = data + b"\0" * (-len(data) % 4)
    return int(sum(struct.unpack(f">{len(padded) // 4}L", padded))) & 0xFFFFFFFF


def _font_file(tables: dict[str, bytes]) -> bytes:
    """An sfnt file of these tables (tags in order, each 4-byte aligned, head's checksum adjustment set)."""
    tags = sorted(tables)
    count = len(tags)
    power = 1 << (count.bit_length() - 1)
    header = struct.pack(">LHHHH", 0x00010000, count, power * 16, power.bit_length() - 1, count * 16 - power * 16)
    offset = 12 + 16 * count
    directory = b""
    body = b""
    for tag in tags:
        data = tables[tag]
        directory += struct.pack(">4sLLL", tag.encode("ascii"), _checksum(data), offset + len(body), len(data))
        body += data + b"\0" * (-len(data) % 4)
    font = bytearray(header + directory + body)
    head = 12 + 16 * count + sum(len(tables[t]) + (-len(tables[t]) % 4) for t in tags[: tags.index("head")])
    struct.pack_into(">L", font, head + 8, (0xB1B0AFBA - _checksum(bytes(font))) & 0xFFFFFFFF)
    return bytes(font)


def _load_face(name: str, path: Path, family: str, characters: frozenset[int]) -> Face:
    from fontTools.ttLib import TTFont

    font = TTFont(str(path))
    if font["name"].getDebugName(1) != family:
        raise Unsupported(f"fontconfig gives {path} for {family}")
    order = font.getGlyphOrder()
    ids = {glyph_name: index for index, glyph_name in enumerate(order)}
    cmap = font.getBestCmap()
    glyph = {code: ids[cmap[code]] for code in characters if code in cmap}
    if characters - glyph.keys():
        raise Unsupported(f"{path} lacks characters of the reduced set")
    ligatures: dict[int, list[tuple[tuple[int, ...], int]]] = {}
    kerning: list[PairTable] = []
    for tag, table in (("liga", font["GSUB"].table), ("kern", font["GPOS"].table)):
        lookups: set[int] = set()
        for script in table.ScriptList.ScriptRecord:
            if script.ScriptTag in ("DFLT", "latn") and script.Script.DefaultLangSys is not None:
                for feature_index in script.Script.DefaultLangSys.FeatureIndex:
                    record = table.FeatureList.FeatureRecord[feature_index]
                    if record.FeatureTag == tag:
                        lookups.update(record.Feature.LookupListIndex)
        for lookup_index in sorted(lookups):
            lookup = table.LookupList.Lookup[lookup_index]
            for wrapped in lookup.SubTable:
                sub, kind = wrapped, lookup.LookupType
                if (tag, kind) in (("liga", 7), ("kern", 9)):
                    sub, kind = wrapped.ExtSubTable, wrapped.ExtensionLookupType
                if tag == "liga" and kind == 4:
                    for first, entries in sub.ligatures.items():
                        for entry in entries:
                            rest = tuple(ids[component] for component in entry.Component)
                            ligatures.setdefault(ids[first], []).append((rest, ids[entry.LigGlyph]))
                elif tag == "kern" and kind == 2:
                    coverage = {ids[g]: 1 for g in sub.Coverage.glyphs}
                    if sub.Format == 1:
                        pairs = {
                            (ids[first], ids[record.SecondGlyph]): getattr(record.Value1, "XAdvance", 0) or 0
                            for first, pair_set in zip(sub.Coverage.glyphs, sub.PairSet, strict=True)
                            for record in pair_set.PairValueRecord
                        }
                        kerning.append((coverage, pairs, {}, {}, []))
                    else:
                        classes = [
                            [getattr(record.Value1, "XAdvance", 0) or 0 for record in row.Class2Record]
                            for row in sub.Class1Record
                        ]
                        first_classes = {ids[g]: c for g, c in sub.ClassDef1.classDefs.items()}
                        second_classes = {ids[g]: c for g, c in sub.ClassDef2.classDefs.items()}
                        kerning.append((coverage, {}, first_classes, second_classes, classes))
    for entries in ligatures.values():  # the longest ligature first, as the lookup orders them
        entries.sort(key=lambda entry: -len(entry[0]))

    # the outlines of the characters and their ligatures (and of the glyphs they are made of), hinting removed
    glyf = font["glyf"]
    outlines: dict[int, bytes] = {}
    components: dict[int, list[int]] = {}
    pending = [0, *glyph.values(), *(ligature for entries in ligatures.values() for _, ligature in entries)]
    while pending:
        index = pending.pop()
        if index in outlines:
            continue
        outline = glyf[order[index]]
        outline.expand(glyf)
        if outline.isComposite():
            components[index] = [ids[component.glyphName] for component in outline.components]
            pending += components[index]
        outline.removeHinting()
        outlines[index] = outline.compile(glyf, recalcBBoxes=False)
    metrics = font["hmtx"].metrics
    raw = {tag: font.reader[tag] for tag in ("head", "hhea", "maxp", "OS/2", "post")}
    text_of: dict[int, str] = {}
    for code in sorted(characters):
        text_of.setdefault(glyph[code], chr(code))
    for first, entries in ligatures.items():
        for rest, ligature in entries:
            if first in text_of and all(r in text_of for r in rest):
                text_of.setdefault(ligature, "".join(text_of[g] for g in (first, *rest)))
    head = font["head"]
    return Face(
        name=font["name"].getDebugName(6) or name,
        upem=head.unitsPerEm,
        ascent=font["hhea"].ascent,
        descent=-font["hhea"].descent,
        glyph=glyph,
        advance=[metrics[glyph_name][0] if glyph_name in metrics else 0 for glyph_name in order],
        ligatures=ligatures,
        kerning=kerning,
        outlines=outlines,
        components=components,
        side_bearing=[metrics[glyph_name][1] if glyph_name in metrics else 0 for glyph_name in order],
        tables={tag: raw[tag] for tag in ("head", "hhea", "maxp", "OS/2", "post")},
        text_of=text_of,
        bbox=(head.xMin, head.yMin, head.xMax, head.yMax),
    )


_LOCK = threading.Lock()
_FACES: dict[str, dict[str, Face] | str] = {}  # "made": the fonts, or why there are none


def faces() -> dict[str, Face]:
    """The reduced fonts, made once per process (about 0.3 s of CPU; a worker forked after the first document
    inherits them); Unsupported (every document is WeasyPrint's) unless fontconfig gives the fonts these
    metrics are for."""
    if "made" not in _FACES:
        with _LOCK:
            if "made" not in _FACES:
                _FACES["made"] = _load_faces()
    made = _FACES["made"]
    if isinstance(made, str):
        raise Unsupported(made)
    return made


def _load_faces() -> dict[str, Face] | str:
    made = {}
    for name, (pattern, family) in FONTS.items():
        try:
            found = subprocess.run(
                ["fc-match", "--format=%{file}", pattern], capture_output=True, text=True, check=True, timeout=30
            ).stdout
            characters = FOOTER_CHARACTERS if name == "serif" else REDUCED
            made[name] = _load_face(name, Path(found), family, characters)
        except (OSError, subprocess.SubprocessError, Unsupported) as error:
            return f"no {family}: {error}"
    return made


def available() -> bool:
    """Whether documents can be written directly here (fontconfig gives the fonts of these metrics)."""
    try:
        faces()
    except Unsupported:
        return False
    return True


# --- text and lines -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Style:
    face: str = "regular"
    size: float = BODY  # px
    color: tuple[float, float, float] = (0x11 / 255, 0x11 / 255, 0x11 / 255)
    letter_spacing: float = 0.0  # px

    @property
    def units(self) -> int:
        return int(self.size * 1024)


#: a piece of inline text in its style, or None for a line break (<br>)
Segment = tuple[str, "Style"] | None
#: a table cell: its inline content, whether it is right-aligned, whether it does not wrap
Cell = tuple[list[Segment], bool, bool]


@dataclass
class Run:
    """A text run placed on a line: x from the line's start, in px."""

    text: str
    style: Style
    x: float
    width: float


@dataclass
class LineBox:
    runs: list[Run]
    width: float
    ascent: float  # px, the line's baseline below its top
    height: float


def _metrics(style: Style) -> tuple[float, float]:
    face = faces()[style.face]
    ascent, descent = face.line_metrics(style.units)
    return ascent / 1024, descent / 1024


def text_width(text: str, style: Style) -> float:
    width = faces()[style.face].width(text, style.units) / 1024
    if style.letter_spacing and text:
        width += style.letter_spacing * len(text)
    return width


def collapse(segments: Sequence[Segment]) -> list[Segment]:
    """HTML's white-space collapsing across the inline content: runs of spaces become one space, none at the
    start of a line (after a line break: None)."""
    collapsed: list[Segment] = []
    after_space = True
    for segment in segments:
        if segment is None:
            if collapsed and collapsed[-1] is not None:
                text, style = collapsed[-1]
                collapsed[-1] = (text.rstrip(" "), style)
            collapsed.append(None)
            after_space = True
            continue
        text, style = segment
        text = SPACES.sub(" ", text.translate(HTML_SPACE))
        if after_space:
            text = text.lstrip(" ")
        if text:
            after_space = text.endswith(" ")
        collapsed.append((text, style))
    if collapsed and collapsed[-1] is not None:
        text, style = collapsed[-1]
        collapsed[-1] = (text.rstrip(" "), style)
    return collapsed


#: characters before which a line never breaks, even after a space (UAX 14, LB13: closing punctuation,
#: exclamation, infix separators, the slash): French "chap. III ;" stays on one line
NO_BREAK_BEFORE = frozenset(")]}!?,.:;/")
#: characters after which a space is no break (LB14: opening punctuation)
NO_BREAK_AFTER = frozenset("([{")
#: characters around a space that is a break opportunity, whatever else (UAX 14 classes AL, NU, OP, PR, PO,
#: IS, CL, CP, EX, B2, BA, HY: LB18 breaks after the space)
SAFE = frozenset("([{)]}!?,.:;%€$£+=×&*#@'\"\u2018\u2019\u201c\u201d\u2014\u2013-")


def break_opportunities(text: str) -> list[tuple[int, int, bool]]:
    """Where Pango may end a line inside ``text``: (end of the line's text, start of the next line's, whether
    UAX 14 surely allows it here). At a space (dropped), unless a closing or separating punctuation follows or
    an opening one precedes; after a hyphen before a letter, after a slash before a letter, after an en dash or
    a hyphen (U+2010), before and after an em dash. Breaks whose rule this does not know are not sure: a line
    that needs one is WeasyPrint's."""
    found = []
    for index, character in enumerate(text):
        before = text[index - 1] if index else ""
        after = text[index + 1] if index + 1 < len(text) else ""
        if character == " ":
            if after in NO_BREAK_BEFORE or before in NO_BREAK_AFTER or before == after == "\u2014":
                continue  # LB13, LB14, LB17 (two em dashes stay together)
            sure = (after.isalnum() or after in SAFE) and (before.isalnum() or before in SAFE or not before)
            found.append((index, index + 1, sure))
        elif character == "\u2014":  # B2: before and after, unless a space is the opportunity there
            if before and before != " ":
                found.append((index, index, before.isalnum()))
            if after and after != " ":
                found.append((index + 1, index + 1, after.isalnum()))
        elif not before or before == " " or not after or after == " ":
            continue  # a word-initial or final hyphen or dash: its space is the opportunity
        elif character in "-/":
            if not after.isdigit():
                found.append((index + 1, index + 1, after.isalpha()))
        elif character in "\u2010\u2013":
            found.append((index + 1, index + 1, after.isalnum()))
    return found


def lines_of(segments: Sequence[Segment], width: float, strut: Style) -> list[LineBox]:
    """The content laid out in lines of ``width`` px: None is a forced break (<br>). A line breaks at its last
    break opportunity that fits, as Pango breaks this text: at a space (dropped with the spaces at the line's
    end), after a hyphen or a slash before a letter, before a dash. A word wider than the line is
    Unsupported."""
    lines: list[LineBox] = []
    strut_ascent, strut_descent = _metrics(strut)
    current: list[Run] = []
    x = 0.0

    def fits(text: str, style: Style) -> bool:
        return x + text_width(text.rstrip(" "), style) <= width + 1e-9

    def finish() -> None:
        nonlocal current, x
        while current and not current[-1].text.strip(" "):
            current.pop()
        if current and current[-1].text.endswith(" "):
            last = current[-1]
            last.text = last.text.rstrip(" ")
            last.width = text_width(last.text, last.style)
        ascent, descent = strut_ascent, strut_descent
        for run in current:
            run_ascent, run_descent = _metrics(run.style)
            ascent, descent = max(ascent, run_ascent), max(descent, run_descent)
        end = current[-1].x + current[-1].width if current else 0.0
        lines.append(LineBox(current, end, ascent, ascent + descent))
        current, x = [], 0.0

    def place_run(text: str, style: Style) -> None:
        nonlocal x
        current.append(Run(text, style, x, text_width(text, style)))
        x += current[-1].width

    for segment in collapse(segments):
        if segment is None:
            finish()
            continue
        text, style = segment
        while text:
            if fits(text, style):
                place_run(text, style)
                break
            # the last break opportunity of this run that leaves a part that fits on the line
            # (a space that begins the run may end the line's previous runs)
            before = current[-1].text[-1:] if current else ""
            cuts = [
                (end - len(before), start - len(before), sure)
                for end, start, sure in break_opportunities(before + text)
            ]
            cut = next((c for c in reversed(cuts) if c[0] >= (0 if current else 1) and fits(text[: c[0]], style)), None)
            if cut is not None and not cut[2]:
                raise Unsupported("a line breaks where the rules here are not sure")
            if cut is None:
                if not (current and current[-1].text.endswith(" ")):
                    raise Unsupported("a word wider than its line" if not current else "no break between the runs")
                if not (text[:1].isalnum() and current[-1].text.rstrip(" ")[-1:].isalnum()):
                    raise Unsupported("a line breaks between runs where the rules here are not sure")
                finish()  # at the space that ends the previous run
                text = text.lstrip(" ")
                continue
            if text[: cut[0]].strip(" "):
                place_run(text[: cut[0]], style)
            finish()
            text = text[cut[1] :].lstrip(" ")
    if current or not lines:
        finish()
    return lines


def preferred_widths(segments: Sequence[Segment]) -> tuple[float, float]:
    """Min-content (the widest piece between break opportunities, sure or not) and max-content (the widest
    forced line) widths, px."""
    minimum = maximum = line = 0.0
    for segment in collapse([*segments, None]):
        if segment is None:
            maximum, line = max(maximum, line), 0.0
            continue
        text, style = segment
        line += text_width(text, style)
        start = 0
        for end, restart, _ in [*break_opportunities(text), (len(text), len(text), True)]:
            minimum = max(minimum, text_width(text[start:end], style))
            start = restart
    return minimum, maximum


def no_wrap_widths(segments: Sequence[Segment]) -> tuple[float, float]:
    maximum = preferred_widths(segments)[1]
    return maximum, maximum


# --- the document ---------------------------------------------------------------------------------------------


@dataclass
class Text:
    """A run to draw: x and the baseline's y on the page, px."""

    text: str
    style: Style
    x: float
    y: float


@dataclass
class Page:
    texts: list[Text] = field(default_factory=list)
    rules: list[tuple[float, float, float, float, tuple[float, float, float]]] = field(default_factory=list)
    image: tuple[float, float, float] | None = None  # x, y, size
    payment: tuple[str, str, str, str, str] | None = None  # the EPC QR code's content, drawn at ``image``
    title: str = ""


def place(page: Page, lines: Iterable[LineBox], x: float, y: float, *, align_right: float | None = None) -> float:
    """Draw the lines from (x, y) downwards; the y below the last."""
    for line in lines:
        offset = (align_right - line.width) if align_right is not None else 0.0
        for run in line.runs:
            page.texts.append(Text(run.text, run.style, x + offset + run.x, y + line.ascent))
        y += line.height
    return y


def auto_columns(cells: Sequence[Sequence[tuple[float, float]]], width: float) -> list[float]:
    """Column widths (border-box, px) of a table of ``width`` px whose cells have these outer min- and
    max-content widths: CSS 2.1's automatic table layout as WeasyPrint 70 computes it for columns without
    set widths."""
    columns = len(cells[0])
    minimum = [max(row[i][0] for row in cells) for i in range(columns)]
    maximum = [max(*(row[i][1] for row in cells), minimum[i]) for i in range(columns)]
    if sum(minimum) >= width:
        raise Unsupported("a table wider than the page")
    if width * (1 + 1e-9) < sum(maximum):
        added = [maximum[i] - minimum[i] for i in range(columns)]
        ratio = (width - sum(minimum)) / sum(added)
        return [minimum[i] + added[i] * ratio for i in range(columns)]
    excess = width - sum(maximum)
    total = sum(m for m in maximum if m > 0)
    return [m + (m * excess / total if m > 0 else 0) for m in maximum]


@dataclass
class InvoiceTexts:
    """What the invoice template shows, its words translated and its amounts and dates written in the
    document's language (billing/documents.py fills it from the same context as the template)."""

    title: str
    heading: str
    number: str
    creditor: list[str]  # name, then the address lines and the enterprise number
    debtor: list[str]
    facts: list[tuple[str, str, str, str]]  # two rows: label, value, label, value
    reason: tuple[str, str] | None  # "Reason", the credit note's reason
    columns: tuple[str, str]  # "Description", "Amount"
    lines: list[tuple[str, str, list[str]]]  # label, amount, explanation
    total: tuple[str, str]
    vat: str
    pay: tuple[str, str, str, str, str, str] | None  # "Pay by transfer to", IBAN, " (BIC …)", …, ogm, third
    payment: tuple[str, str, str, str, str] | None  # the EPC QR code's content (documents.epc_payment)
    questions: str

    def characters(self) -> str:
        parts = [self.title, self.heading, self.number, *self.creditor, *self.debtor, self.vat, self.questions]
        parts += [text for row in self.facts for text in row] + list(self.columns) + list(self.total)
        parts += [text for label, amount, why in self.lines for text in (label, amount, *why)]
        parts += list(self.reason or ()) + list(self.pay or ())
        return "".join(parts)


def _rgb(value: str) -> tuple[float, float, float]:
    return (int(value[1:3], 16) / 255, int(value[3:5], 16) / 255, int(value[5:7], 16) / 255)


INK, BLUE, GREY, FOOT, LINE = _rgb("#111111"), _rgb("#00587c"), _rgb("#333333"), _rgb("#555555"), _rgb("#999999")
REGULAR = Style()
BOLD = Style("bold")
HEADING = Style("bold", H1, BLUE)
SMALL_GREY = Style("regular", SMALL, GREY)
QUESTIONS = Style("regular", SMALL)
OGM_STYLE = Style("bold", OGM, INK, 0.5 * PT)
FOOTER = Style("serif", SMALL, FOOT)
WHY_INDENT = 4 * MM
QR_SIZE = 32 * MM


def _table(
    page: Page,
    y: float,
    rows: list[list[Cell]],
    halves: list[tuple[float, float]],
    extra: dict[int, list[list[Segment]]] | None = None,
) -> tuple[float, list[float]]:
    """A table of WIDTH px at ``y``: each cell (segments, right-aligned, no-wrap); ``halves``: each row's half
    collapsed borders above and below; ``extra``: the explanation items of a row's first cell. Returns the
    bottom of the last row and the rows' grid lines."""
    extra = extra or {}
    outer: list[list[tuple[float, float]]] = []
    for index, row in enumerate(rows):
        widths = []
        for column, (segments, _, nowrap) in enumerate(row):
            low, high = no_wrap_widths(segments) if nowrap else preferred_widths(segments)
            if column == 0 and index in extra:
                for item in extra[index]:
                    item_low, item_high = preferred_widths(item)
                    low, high = max(low, WHY_INDENT + item_low), max(high, WHY_INDENT + item_high)
            widths.append((low + 2 * CELL_PAD_X, high + 2 * CELL_PAD_X))
        outer.append(widths)
    columns = auto_columns(outer, WIDTH)
    starts = [LEFT + sum(columns[:i]) for i in range(len(columns))]
    grid = []
    for index, row in enumerate(rows):
        top_half, bottom_half = halves[index]
        content_top = y + top_half + CELL_PAD_Y
        height = 0.0
        for column, (segments, right, _) in enumerate(row):
            inner = columns[column] - 2 * CELL_PAD_X
            x = starts[column] + CELL_PAD_X
            lines = lines_of(segments, inner, REGULAR)
            if right and any(line.width > inner + 1e-9 for line in lines):
                raise Unsupported("an amount wider than its column")
            bottom = place(page, lines, x, content_top, align_right=inner if right else None)
            if column == 0 and index in extra:
                bottom += 1 * MM
                for number, item in enumerate(extra[index], start=1):
                    item_lines = lines_of(item, inner - WHY_INDENT, SMALL_GREY)
                    marker = f"{number}. "
                    marker_x = x + WHY_INDENT - text_width(marker, SMALL_GREY)
                    page.texts.append(Text(marker, SMALL_GREY, marker_x, bottom + item_lines[0].ascent))
                    bottom = place(page, item_lines, x + WHY_INDENT, bottom)
            height = max(height, bottom - content_top)
        y = content_top + height + CELL_PAD_Y + bottom_half
        grid.append(y - bottom_half)
    return y, grid


def _cell(text: str, style: Style, *, amount: bool = False) -> Cell:
    """A cell of one text; an amount is right-aligned and does not wrap (td.amount)."""
    return ([(text, style)], amount, amount)


def layout(texts: InvoiceTexts) -> Page:
    """The invoice's one page, as WeasyPrint lays out invoice_pdf.html with invoice_pdf.css; Unsupported if it
    would not be exactly that."""
    if not supported(texts.characters()) or not supported(texts.number, FOOTER_CHARACTERS):
        raise Unsupported("characters outside the reduced fonts")
    page = Page(payment=texts.payment, title=texts.title)
    y = place(page, lines_of([(texts.heading, HEADING)], WIDTH, HEADING), LEFT, TOP) + 4 * MM

    float_width = 0.48 * WIDTH
    bottoms = []
    for x, party in ((LEFT, texts.creditor), (LEFT + WIDTH - float_width, texts.debtor)):
        segments: list[Segment] = [(party[0], BOLD)]
        for text in party[1:]:
            segments += [None, (text, REGULAR)]
        bottoms.append(place(page, lines_of(segments, float_width, REGULAR), x, y))
    y = max(bottoms) + 8 * MM

    half = RULE / 2
    rows = [
        [_cell(label, BOLD), _cell(value, REGULAR), _cell(label2, BOLD), _cell(value2, REGULAR)]
        for label, value, label2, value2 in texts.facts
    ]
    y, grid = _table(page, y, rows, [(0.0 if i == 0 else half, half) for i in range(len(rows))])
    rules = [(LEFT, line, RULE, LINE) for line in grid]
    y += half + 4 * MM
    if texts.reason:
        label, reason = texts.reason
        y = place(page, lines_of([(f"{label}:", BOLD), (f" {reason}", REGULAR)], WIDTH, REGULAR), LEFT, y)
        y += 4 * MM

    total_half = TOTAL_RULE / 2
    rows = [[_cell(texts.columns[0], BOLD), _cell(texts.columns[1], BOLD, amount=True)]]
    halves = [(0.0, half)]
    extra: dict[int, list[list[Segment]]] = {}
    for index, (label, amount, why) in enumerate(texts.lines, start=1):
        rows.append([_cell(label, REGULAR), _cell(amount, REGULAR, amount=True)])
        halves.append((half, total_half if index == len(texts.lines) else half))
        if why:
            extra[index] = [[(text, SMALL_GREY)] for text in why]
    rows.append([_cell(texts.total[0], BOLD), _cell(texts.total[1], BOLD, amount=True)])
    halves.append((total_half if texts.lines else half, half))
    y, grid = _table(page, y, rows, halves, extra)
    rules += [(LEFT, line, RULE, LINE) for line in grid[:-2]]
    rules += [(LEFT, grid[-2], TOTAL_RULE if texts.lines else RULE, INK if texts.lines else LINE)]
    rules += [(LEFT, grid[-1], RULE, LINE)]
    y += half + 4 * MM

    y = place(page, lines_of([(texts.vat, REGULAR)], WIDTH, REGULAR), LEFT, y)
    if texts.pay and texts.payment:
        pay_by, iban, bic, communication, ogm, third = texts.pay
        y += 6 * MM
        border, padding = 0.5 * PT, 3 * MM
        inner = WIDTH - 2 * (border + padding)
        text_width_ = inner - QR_SIZE - 6 * MM
        segments = [(f"{pay_by} ", REGULAR), (iban, BOLD), (bic, REGULAR), None, (communication, REGULAR), None]
        segments += [(ogm, OGM_STYLE), None, (third, REGULAR)]
        lines = lines_of(segments, text_width_, REGULAR)
        text_height = sum(line.height for line in lines)
        row = max(QR_SIZE, text_height)
        top = y + border + padding
        page.image = (LEFT + border + padding, top + (row - QR_SIZE) / 2, QR_SIZE)
        place(page, lines, LEFT + border + padding + QR_SIZE + 6 * MM, top + (row - text_height) / 2)
        box_height = row + 2 * (border + padding)
        page.rules += [
            (LEFT, y, WIDTH, border, BLUE),
            (LEFT, y + box_height - border, WIDTH, border, BLUE),
            (LEFT, y, border, box_height, BLUE),
            (LEFT + WIDTH - border, y, border, box_height, BLUE),
        ]
        y += box_height
    y = place(page, lines_of([(texts.questions, QUESTIONS)], WIDTH, QUESTIONS), LEFT, y + 8 * MM)
    if y + SMALL + BODY_MARGIN > BOTTOM:
        raise Unsupported("more than one page")
    for x, line, thickness, colour in rules:  # a collapsed border: below the cell's padding, across the row's edge
        page.rules.append((x, line, WIDTH, thickness, colour))

    footer = f"{texts.number} · 1/1"
    width = text_width(footer, FOOTER)
    ascent, descent = _metrics(FOOTER)
    page.texts.append(
        Text(footer, FOOTER, (PAGE_WIDTH - width) / 2, BOTTOM + (MARGIN_Y - ascent - descent) / 2 + ascent)
    )
    return page


# --- the PDF --------------------------------------------------------------------------------------------------

FONT_NAMES = {"regular": "F1", "bold": "F2", "serif": "F3"}
FIRST_FONT_OBJECT = 7  # 1 catalog, 2 pages, 3 page, 4 content, 5 information, 6 the QR code (or null)


def _font_objects(face: Face, tag: str, number: int, used: Iterable[int]) -> tuple[dict[int, int], list[bytes]]:
    """A font's PDF objects, numbered from ``number`` (Type0, CIDFontType2, descriptor, program, ToUnicode),
    embedding the glyphs used, and each glyph's number there."""
    renumbered, program = face.program(used)
    order = sorted(renumbered, key=renumbered.__getitem__)
    base = f"{tag}+{face.name}"
    widths = " ".join(_number(face.advance[glyph] * 1000 / face.upem) for glyph in order)
    mapped = [(renumbered[glyph], face.text_of[glyph]) for glyph in order if glyph in face.text_of]
    chunks = [mapped[i : i + 100] for i in range(0, len(mapped), 100)]
    to_unicode = (
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CIDSystemInfo << /Registry (Adobe) "
        "/Ordering (UCS) /Supplement 0 >> def /CMapName /Adobe-Identity-UCS def /CMapType 2 def "
        "1 begincodespacerange <0000> <ffff> endcodespacerange\n"
        + "".join(
            f"{len(chunk)} beginbfchar\n"
            + "\n".join(f"<{g:04x}> <{text.encode('utf-16-be').hex()}>" for g, text in chunk)
            + "\nendbfchar\n"
            for chunk in chunks
        )
        + "endcmap CMapName currentdict /CMap defineresource pop end end"
    )
    x0, y0, x1, y1 = (round(v * 1000 / face.upem) for v in face.bbox)
    return renumbered, [
        (
            f"<< /Type /Font /Subtype /Type0 /BaseFont /{base} /Encoding /Identity-H "
            f"/DescendantFonts [{number + 1} 0 R] /ToUnicode {number + 4} 0 R >>"
        ).encode(),
        (
            f"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{base} /CIDSystemInfo << /Registry (Adobe) "
            f"/Ordering (Identity) /Supplement 0 >> /FontDescriptor {number + 2} 0 R /CIDToGIDMap /Identity "
            f"/W [0 [{widths}]] >>"
        ).encode(),
        (
            f"<< /Type /FontDescriptor /FontName /{base} /Flags 32 /FontBBox [{x0} {y0} {x1} {y1}] "
            f"/ItalicAngle 0 /Ascent {round(face.ascent * 1000 / face.upem)} "
            f"/Descent {-round(face.descent * 1000 / face.upem)} /CapHeight {y1} /StemV 80 "
            f"/FontFile2 {number + 3} 0 R >>"
        ).encode(),
        _stream(zlib.compress(program, 6), f" /Length1 {len(program)}"),
        _stream(zlib.compress(to_unicode.encode("ascii"), 6)),
    ]


def _stream(compressed: bytes, extra: str = "") -> bytes:
    return (
        f"<< /Length {len(compressed)} /Filter /FlateDecode{extra} >>\nstream\n".encode() + compressed + b"\nendstream"
    )


def _number(value: float) -> str:
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _pdf_text(text: str) -> str:
    """A string of the information dictionary: UTF-16BE with its byte order mark, in hex."""
    return "<feff" + text.encode("utf-16-be").hex() + ">"


def content(page: Page, numbers: dict[str, dict[int, int]], *, image: bool) -> bytes:
    """The page's drawing operators, in CSS px with y downwards like WeasyPrint's; ``numbers``: each font's
    glyphs' numbers in its embedded program."""
    scale = 0.75
    ops = [f"{scale} 0 0 {-scale} 0 {_number(PAGE_HEIGHT * scale)} cm"]
    for x, y, width, height, colour in page.rules:
        r, g, b = (_number(c) for c in colour)
        ops.append(f"{r} {g} {b} rg {_number(x)} {_number(y)} {_number(width)} {_number(height)} re f")
    if image and page.image:
        x, y, size = page.image
        ops.append(f"q {_number(size)} 0 0 {_number(-size)} {_number(x)} {_number(y + size)} cm /Im0 Do Q")
    all_faces = faces()
    spacing = 0.0  # the character spacing stays set after ET
    for text in page.texts:
        style = text.style
        face = all_faces[style.face]
        number = numbers[style.face]
        r, g, b = (_number(c) for c in style.color)
        ops.append(f"BT /{FONT_NAMES[style.face]} {_number(style.units / 1024)} Tf {r} {g} {b} rg")  # Pango's size
        if style.letter_spacing != spacing:
            spacing = style.letter_spacing
            ops.append(f"{_number(spacing)} Tc")
        glyphs, advances = face.shape(text.text, style.units)
        parts = []
        chunk: list[str] = []
        for glyph, advance in zip(glyphs, advances, strict=True):
            chunk.append(f"{number[glyph]:04x}")
            nominal = round(face.advance[glyph] * style.units / face.upem)
            if advance != nominal:  # kerning
                parts += ["<" + "".join(chunk) + ">", _number(-(advance - nominal) / style.units * 1000)]
                chunk = []
        if chunk:
            parts.append("<" + "".join(chunk) + ">")
        ops.append(f"1 0 0 -1 {_number(text.x)} {_number(text.y)} Tm [{' '.join(parts)}] TJ ET")
    return "\n".join(ops).encode("ascii")


def write(page: Page, qr: tuple[int, bytes] | None = None) -> bytes:
    """The PDF of the laid-out page; ``qr``: the image of its EPC QR code, modules a side (quiet zone
    included) and one byte a module (0 dark, 255 light)."""
    if bool(page.image) != bool(qr):
        raise ValueError("a page with a payment box is written with its QR code, and only it")
    all_faces = faces()
    used: dict[str, set[int]] = {name: set() for name in FONT_NAMES}
    for text in page.texts:
        used[text.style.face].update(all_faces[text.style.face].shape(text.text, text.style.units)[0])
    numbers: dict[str, dict[int, int]] = {}
    fonts: list[bytes] = []
    for index, name in enumerate(FONT_NAMES):
        tag = "FAMHP" + "ABC"[index]
        numbers[name], objects = _font_objects(all_faces[name], tag, FIRST_FONT_OBJECT + 5 * index, used[name])
        fonts += objects
    width, height = _number(PAGE_WIDTH * 0.75), _number(PAGE_HEIGHT * 0.75)
    resources = " ".join(f"/{tag} {FIRST_FONT_OBJECT + 5 * i} 0 R" for i, tag in enumerate(FONT_NAMES.values()))
    image = "/XObject << /Im0 6 0 R >> " if qr else ""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width} {height}] /Contents 4 0 R "
            f"/Resources << /Font << {resources} >> {image}>> >>"
        ).encode(),
        _stream(zlib.compress(content(page, numbers, image=bool(qr)), 6)),
        f"<< /Title {_pdf_text(page.title)} /Producer (famhp) >>".encode(),
    ]
    if qr:
        side, modules = qr
        objects.append(
            _stream(
                zlib.compress(modules, 6),
                f" /Type /XObject /Subtype /Image /Width {side} /Height {side} /ColorSpace /DeviceGray "
                "/BitsPerComponent 8 /Interpolate false",
            )
        )
    else:
        objects.append(b"null")
    objects += fonts
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
