"""User text in Streamlit's Markdown: titles, captions, buttons, messages and st.write render Markdown (links,
images, Streamlit's :color[...] and :material/...: directives, $LaTeX$). A file, batch or person name, an OCR line,
a transcript or a label comes from whoever uploaded or typed it: shown through ``plain``, a name like
``![x](http://listener/pixel.png)`` is its own characters, not an image the reviewer's browser fetches."""

from __future__ import annotations

import re

# Every character Markdown, GFM, Streamlit's directives or LaTeX could read, each escaped with a backslash.
_MARKUP = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:=&\"'])")


def plain(text: object) -> str:
    """``text`` as literal characters wherever Streamlit renders Markdown."""
    return _MARKUP.sub(r"\\\1", str(text))
