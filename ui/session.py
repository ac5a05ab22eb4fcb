"""The signed-in reviewer: their API key, kept in the Streamlit session (never in the URL), and the gateway
client made from it. Reads that do not change between reruns are cached per key.

A sign-in survives a reload: the browser keeps a random session token in a cookie (SameSite=Strict, 12 hours from
the last page run), which the UI's process maps to the key in its own memory; the key never reaches the browser.
Signing out, or the key being refused, forgets the token (a restarted UI forgets them all)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from vidsafe.client import GatewayClient, GatewayError, GatewayUnreachable
from vidsafe.domain.api import Me
from vidsafe.domain.policy import ReviewPolicy
from vidsafe.domain.teams import Preferences, Scope
from vidsafe.settings import get_settings
from vidsafe.ui.markdown import plain

_KEY = "api_key"
_ME = "me"
_TOKEN = "session_token"
COOKIE = "vidsafe_session"
SESSION_TTL_S = 12 * 3600.0
_cookie = st.components.v2.component("vidsafe_session_cookie", js="""
export default function ({ data }) {
  const attributes = "; path=/; SameSite=Strict";
  document.cookie = data.token ? `${data.name}=${data.token}; max-age=${data.max_age}${attributes}`
                               : `${data.name}=; max-age=0${attributes}`;
}
""")
Result = TypeVar("Result")
# Scopes that may use the UI: review reads and decides; admin may do everything.
UI_SCOPES = (Scope.review, Scope.admin)


def gateway_url() -> str:
    """The gateway's address: the one setting the UI reads (everything else it asks the gateway)."""
    return get_settings().gateway_url


def client() -> GatewayClient:
    """The gateway client of the signed-in reviewer (the caller checked ``signed_in``)."""
    return GatewayClient(gateway_url(), st.session_state[_KEY], timeout_s=120)


def signed_in() -> bool:
    return _KEY in st.session_state


def me() -> Me:
    return st.session_state[_ME]


def remember_preferences(preferences: Preferences) -> None:
    st.session_state[_ME] = me().model_copy(update={"preferences": preferences})


@st.cache_resource
def _sessions() -> dict[str, tuple[str, float]]:
    """Session token -> (API key, when it ends): this UI process's signed-in browsers."""
    return {}


def resume() -> bool:
    """Sign in again the browser whose cookie names a live session (a reload); whether it was."""
    token = st.context.cookies.get(COOKIE)
    held = _sessions().get(token) if token else None
    if held is None or held[1] < time.time():
        return False
    if sign_in(held[0], token) is not None:
        _sessions().pop(token, None)
        return False
    return True


def keep_cookie() -> None:
    """Write the session's cookie (each page run moves its end on), or clear it when signed out."""
    token = st.session_state.get(_TOKEN)
    if token is not None:
        _sessions()[token] = (st.session_state[_KEY], time.time() + SESSION_TTL_S)
    _cookie(key="session_cookie", data={"name": COOKIE, "token": token, "max_age": int(SESSION_TTL_S)},
            height=0)


def sign_in(key: str, token: str | None = None) -> str | None:
    """Check the key with the gateway and keep it in the session; the reason it was refused, or None."""
    key = key.strip()
    if not key:
        return "enter an API key"
    try:
        with GatewayClient(gateway_url(), key) as gateway:
            who = gateway.me()
    except GatewayError as error:
        return f"the gateway refused this key: {error.message}"
    except GatewayUnreachable as error:
        return str(error)
    if not any(scope in who.key.scopes for scope in UI_SCOPES):
        return "this key has no review scope: ask an admin for one (`vidsafe keys create NAME --scope review`)"
    st.session_state[_KEY] = key
    st.session_state[_ME] = who
    st.session_state[_TOKEN] = token or secrets.token_urlsafe(32)
    _sessions()[st.session_state[_TOKEN]] = (key, time.time() + SESSION_TTL_S)
    return None


def still_allowed() -> bool:
    """Ask the gateway, at every rerun and before any cached read is served, whether the key still works; a key
    revoked (or its scope taken away) since sign-in signs the reviewer out at once. An unreachable gateway keeps the
    session: the pages say so themselves."""
    try:
        with client() as gateway:
            who = gateway.me()
    except GatewayError as error:
        if error.status in (401, 403):
            sign_out()
            st.session_state["signed_out_because"] = f"signed out: {error.message}"
            return False
        return True
    except GatewayUnreachable:
        return True
    if not any(scope in who.key.scopes for scope in UI_SCOPES):
        sign_out()
        st.session_state["signed_out_because"] = "signed out: this key no longer has the review scope"
        return False
    st.session_state[_ME] = who
    return True


def sign_out() -> None:
    _sessions().pop(st.session_state.get(_TOKEN, ""), None)
    for name in list(st.session_state):
        del st.session_state[name]


@st.cache_data(ttl=600, max_entries=256, show_spinner=False)
def _cached_call(key: str, method: str, args: tuple, kwargs_items: tuple) -> Any:
    with GatewayClient(gateway_url(), key, timeout_s=120) as gateway:
        try:
            return getattr(gateway, method)(*args, **dict(kwargs_items))
        except GatewayError as error:
            if error.status == 404:  # absent (a thumbnail never made, a video past its retention): absent for good
                return None
            raise


def cached(method: str, *args: Any, **kwargs: Any) -> Any:
    """A read of the gateway that does not change once made (a finished job's findings, its video, a thumbnail),
    cached for ten minutes per key; None for what does not exist."""
    return _cached_call(st.session_state[_KEY], method, args, tuple(sorted(kwargs.items())))


def deferred(method: str, *args: Any) -> Callable[[], Any]:
    """A gateway read made later, off the page's thread (a download's contents, made when it is clicked)."""
    key = st.session_state[_KEY]

    def read() -> Any:
        with GatewayClient(gateway_url(), key, timeout_s=120) as gateway:
            return getattr(gateway, method)(*args)
    return read


def policy() -> ReviewPolicy:
    """The values the deployment judges by (thresholds, severities, what is blurred), asked of the gateway once per
    ten minutes."""
    return cached("policy")


def call(action: Callable[[GatewayClient], Result], failure: str = "the gateway refused") -> Result | None:
    """Run ``action`` with the client; a refusal is shown (code and message) and gives None."""
    try:
        with client() as gateway:
            return action(gateway)
    except GatewayError as error:
        st.error(f"{failure}: {plain(error.message)} ({error.code})")
    except GatewayUnreachable as error:
        st.error(str(error))
    return None
