"""The review UI's entry point (``streamlit run``): sign-in, then the pages, each a module of ``ui/``."""

from __future__ import annotations

import streamlit as st
from PIL import Image, ImageDraw

from vidsafe.ui import batches, monitoring, navigation, people, policy, queue, review, search, session, signin
from vidsafe.ui.markdown import plain


def _icon() -> Image.Image:
    """The page icon, drawn here: a Material icon as page_icon is fetched from Google's font host on every load,
    a call out of a self-hosted tool (and an error offline)."""
    icon = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    ImageDraw.Draw(icon).polygon([(32, 4), (58, 14), (54, 42), (32, 60), (10, 42), (6, 14)], fill=(200, 55, 70))
    ImageDraw.Draw(icon).line([(20, 32), (29, 41), (45, 23)], fill=(255, 255, 255), width=6)
    return icon


st.set_page_config(page_title="vidsafe review", page_icon=_icon(), layout="wide")

if not session.signed_in() or not session.still_allowed():
    st.navigation([st.Page(signin.render, title="Sign in", url_path="signin")], position="hidden").run()
else:
    pages = {
        "queue": st.Page(queue.render, title="Queue", icon=":material/inbox:", url_path="queue", default=True),
        "review": st.Page(review.render, title="Review", icon=":material/movie:", url_path="review"),
        "batches": st.Page(batches.render, title="Batches", icon=":material/inventory_2:", url_path="batches"),
        "search": st.Page(search.render, title="Search", icon=":material/search:", url_path="search"),
        "people": st.Page(people.render, title="People", icon=":material/groups:", url_path="people"),
        "policy": st.Page(policy.render, title="Policy", icon=":material/gavel:", url_path="policy"),
        "monitoring": st.Page(monitoring.render, title="Monitoring", icon=":material/monitoring:",
                              url_path="monitoring"),
    }
    navigation.register(pages)
    with st.sidebar:
        who = session.me()
        st.caption(f"signed in as **{plain(who.key.name)}** ({plain(who.team)})")
        if st.button("Sign out", key="sign_out"):
            session.sign_out()
            st.rerun()
    st.navigation(list(pages.values())).run()
