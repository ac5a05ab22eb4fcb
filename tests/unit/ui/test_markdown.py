"""User text in the UI's Markdown (ui/markdown.py): every character Markdown or Streamlit could read is escaped, and
nothing else changes."""

from __future__ import annotations

import re

from vidsafe.ui.markdown import plain


def test_markup_is_escaped_and_the_characters_kept() -> None:
    hostile = "[open](http://x/y) ![i](http://x/p.png) **b** :red[r] $x$ <b>h</b> `c` # h"
    escaped = plain(hostile)
    assert re.sub(r"\\(.)", r"\1", escaped) == hostile, "unescaping gives the text back"
    assert "](" not in escaped and "![" not in escaped and ":red[" not in escaped
    assert plain("interview 2") == "interview 2" and plain(None) == "None"
