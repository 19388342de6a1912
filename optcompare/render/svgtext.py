"""Text measurement and wrapping for slides, without a font file.

Widths are the advance widths of Helvetica (Liberation Sans and Arial share
them), in thousandths of an em, for printable ASCII; anything else counts
as a wide character. A slide is laid out for those metrics with a margin,
so a wider fallback sans-serif still fits.
"""

from __future__ import annotations

import re

from optcompare.frozen import frozen

SANS = "'Liberation Sans', Arial, Helvetica, sans-serif"
MONO = "'Liberation Mono', 'DejaVu Sans Mono', Menlo, Consolas, monospace"
MONO_ADVANCE = 600
MIN_SIZE = 18
"""No text on a slide is smaller (px, in the 1920 x 1080 view box)."""
MARGIN = 1.04
"""Room for a fallback font a little wider than Helvetica."""

_REGULAR = (
    " 278 !278 \"355 #556 $556 %889 &667 '191 (333 )333 *389 +584 ,278 -333 .278 /278 "
    "0556 1556 2556 3556 4556 5556 6556 7556 8556 9556 :278 ;278 <584 =584 >584 ?556 "
    "@1015 A667 B667 C722 D722 E667 F611 G778 H722 I278 J500 K667 L556 M833 N722 O778 "
    "P667 Q778 R722 S667 T611 U722 V667 W944 X667 Y667 Z611 [278 \\278 ]278 ^469 _556 "
    "`333 a556 b556 c500 d556 e556 f278 g556 h556 i222 j222 k500 l222 m833 n556 o556 "
    "p556 q556 r333 s500 t278 u556 v500 w722 x500 y500 z500 {334 |260 }334 ~584"
)
_BOLD = (
    " 278 !333 \"474 #556 $556 %889 &722 '238 (333 )333 *389 +584 ,278 -333 .278 /278 "
    "0556 1556 2556 3556 4556 5556 6556 7556 8556 9556 :333 ;333 <584 =584 >584 ?611 "
    "@975 A722 B722 C722 D722 E667 F611 G778 H722 I278 J556 K722 L611 M833 N722 O778 "
    "P667 Q778 R722 S667 T611 U722 V667 W944 X667 Y667 Z611 [333 \\278 ]333 ^584 _556 "
    "`333 a556 b611 c556 d611 e556 f333 g611 h611 i278 j278 k556 l278 m889 n611 o611 "
    "p611 q611 r389 s556 t333 u611 v556 w778 x556 y556 z500 {389 |280 }389 ~584"
)
_WIDE = 1000


def _table(spec: str) -> dict[str, int]:
    table = {" ": int(spec[1:4])}
    for entry in spec[5:].split(" "):
        table[entry[0]] = int(entry[1:])
    return table


_ADVANCES = {False: _table(_REGULAR), True: _table(_BOLD)}


@frozen
class Font:
    size: float
    bold: bool = False
    mono: bool = False

    @property
    def family(self) -> str:
        return MONO if self.mono else SANS

    def width(self, text: str) -> float:
        """The advance width of ``text`` in px, with the fallback margin."""
        if self.mono:
            units = MONO_ADVANCE * len(text)
        else:
            advances = _ADVANCES[self.bold]
            units = sum(advances.get(ch, _WIDE) for ch in text)
        return units * self.size / 1000 * MARGIN

    @property
    def line_height(self) -> float:
        return self.size * 1.25


_PIECE = re.compile(r"\S*?[A-Za-z0-9.]-(?=[A-Za-z])|\S+")


def pieces(text: str) -> list[tuple[str, bool]]:
    """The words of ``text`` and where a line may break: after a space, or after a
    hyphen before a letter (``explicit-`` ``reopen``, never ``qemu-`` ``3.1``).

    Each piece comes with whether a space precedes it.
    """
    result = []
    for match in _PIECE.finditer(text):
        spaced = match.start() > 0 and text[match.start() - 1].isspace()
        result.append((match.group(), spaced))
    return result


def widest_piece(text: str, font: Font) -> float:
    return max((font.width(p) for p, _ in pieces(text)), default=0.0)


def wrap(text: str, font: Font, width: float) -> list[str]:
    """``text`` in lines no wider than ``width``, broken where :func:`pieces` allows;
    a word too long for a line is cut."""
    lines: list[str] = []
    current = ""
    for word, spaced in pieces(text):
        candidate = (f"{current} {word}" if spaced else current + word) if current else word
        if font.width(candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = word
        while font.width(current) > width and len(current) > 1:
            cut = _fitting(current, font, width)
            lines.append(current[:cut])
            current = current[cut:]
    if current:
        lines.append(current)
    return lines


def _fitting(word: str, font: Font, width: float) -> int:
    cut = len(word) - 1
    while cut > 1 and font.width(word[:cut]) > width:
        cut -= 1
    return cut


def fit(text: str, width: float, height: float, *, largest: float, smallest: float = MIN_SIZE,
        bold: bool = False, mono: bool = False) -> tuple[Font, list[str]] | None:
    """The largest font (down to ``smallest``) at which ``text`` wraps into the box."""
    size = largest
    while size >= smallest:
        font = Font(size, bold, mono)
        lines = wrap(text, font, width)
        if len(lines) * font.line_height <= height and all(
                font.width(line) <= width for line in lines):
            return font, lines
        size -= 1
    return None
