"""User text shown as text.  Streamlit renders the body of st.error, st.warning, st.info and st.caption
as Markdown (links, images, bare-URL autolinks, colour directives, LaTeX); a message that repeats what
a user typed, a URL or an uploaded file held goes through :func:`plain` first, so it reads exactly as
typed and nothing in it is fetched, linked or styled.

It becomes an inline code span: Markdown leaves a code span's content alone, autolinks included
(backslash escapes and character references do not stop GitHub-flavoured autolinking of
"http://…", which Streamlit applies).  Streamlit rewrites ":material/" anywhere in the source before
parsing, so there an invisible word joiner keeps the text as typed.
"""

from __future__ import annotations

import re


def plain(text: object) -> str:
    """``text`` as a Markdown code span (line breaks become spaces), shown exactly as written."""
    body = str(text).replace("\r", " ").replace("\n", " ").replace(":material/", ":\u2060material/")
    if not body:
        return ""
    fence = "`" * (1 + max((len(run) for run in re.findall(r"`+", body)), default=0))
    # CommonMark strips one space from each side, unless the span holds nothing but spaces
    pad = " " if body.strip(" ") and (body[0] in "` " or body[-1] in "` ") else ""
    return f"{fence}{pad}{body}{pad}{fence}"
