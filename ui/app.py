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

PAGES = {  # name: (render, title, icon)
    "queue": (queue.render, "Queue", ":material/inbox:"),
    "review": (review.render, "Review", ":material/movie:"),
    "batches": (batches.render, "Batches", ":material/inventory_2:"),
    "search": (search.render, "Search", ":material/search:"),
    "people": (people.render, "People", ":material/groups:"),
    "policy": (policy.render, "Policy", ":material/gavel:"),
    "monitoring": (monitoring.render, "Monitoring", ":material/monitoring:"),
}

if not (session.signed_in() or session.resume()) or not session.still_allowed():
    # Every page's address shows the sign-in (a reload or a link signed out), and after it, that page.
    st.navigation([st.Page(signin.render, title="Sign in", url_path=name, default=name == "queue")
                   for name in PAGES], position="hidden").run()
    session.keep_cookie()
else:
    pages = {name: st.Page(render, title=title, icon=icon, url_path=name, default=name == "queue")
             for name, (render, title, icon) in PAGES.items()}
    navigation.register(pages)
    with st.sidebar:
        who = session.me()
        st.caption(f"signed in as **{plain(who.key.name)}** ({plain(who.team)})")
        exposure = who.exposure
        limit = f" of a soft limit of {exposure.soft_limit_s / 60:.0f} min" if exposure.soft_limit_s else ""
        st.caption(f"sensitive stretches seen unblurred today: {exposure.today_s / 60:.1f} min{limit}",
                   help="Past your team's soft limit, the queue offers you milder videos first")
        if st.button("Sign out", key="sign_out"):
            session.sign_out()
            st.rerun()
        session.keep_cookie()
    st.navigation(list(pages.values())).run()
