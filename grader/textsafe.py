"""Student-controlled text made safe to show anywhere: terminals, HTML, XML, CI logs.

Exception messages, printed output, file and class names all come from the submission. Before any of it
is shown, `clean` removes what a terminal or viewer would interpret rather than display: ANSI/VT escape
sequences (colours, cursor moves, clear-screen, OSC 8 hyperlinks, OSC 52 clipboard writes), other C0 and
C1 control characters, DEL, and the Unicode bidirectional overrides that can make text read differently
from what it is. Renderers still escape for their own syntax (HTML, XML, rich markup); this module only
removes what no format should carry.
"""

from __future__ import annotations

import re

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), DCS/SOS/PM/APC (ESC P|X|^|_ ... ST), and two-byte ESC x.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x1b[@-Z\\-~]?"
    r"|\x9b[0-?]*[ -/]*[@-~]?"
    r"|\x9d[^\x07\x9c]*[\x07\x9c]?"
)
# C0 controls except tab and newline, DEL, C1 controls, bidi embeddings/overrides/isolates, BOM.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\ufeff]")


def clean(text: str, *, newlines: bool = True) -> str:
    """`text` without escape sequences and control characters (tabs kept; newlines kept unless told).

    A carriage return becomes a newline (or a space), so progress bars that redraw a line stay readable.
    """
    text = _ESCAPES.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROLS.sub("", text)
    if not newlines:
        text = text.replace("\n", " ")
    return text


def one_line(text: str, limit: int = 300) -> str:
    """`clean` on one line, cut to `limit` characters with an ellipsis."""
    text = clean(text, newlines=False).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"
