"""Sign-in: an API key with the review scope, checked with the gateway and kept in the session."""

from __future__ import annotations

import streamlit as st

from vidsafe.ui import session


def render() -> None:
    st.title("vidsafe review")
    if reason := st.session_state.pop("signed_out_because", None):
        st.warning(reason)
    st.write("Sign in with an API key that has the **review** scope. An admin issues one with "
             "`vidsafe keys create NAME --scope review`.")
    with st.form("sign_in"):
        key = st.text_input("API key", type="password", key="sign_in_key")
        if st.form_submit_button("Sign in", type="primary"):
            problem = session.sign_in(key)
            if problem is None:
                st.rerun()
            st.error(problem)
