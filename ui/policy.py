"""The policy page, for a team's leads: the live policy's categories and rules (and re-judging past jobs by it), an
edit of it dry-run over past jobs and saved as a new version, the term banks that evidence its categories, and the
versions saved."""

from __future__ import annotations

import json

import pandas as pd
import pydantic
import streamlit as st

from vidsafe.client import GatewayError, GatewayUnreachable
from vidsafe.domain.errors import ErrorCode
from vidsafe.domain.policies import DryRun, Policy, PolicyDocument
from vidsafe.domain.requests import TermBankRequest
from vidsafe.domain.teams import Preferences, Scope, TeamReviewSettings
from vidsafe.ui import session
from vidsafe.ui.markdown import plain

EDITED = "policy_edited"  # the document being edited, JSON


def _categories(policy: Policy) -> pd.DataFrame:
    return pd.DataFrame([{
        "category": c.name, "severity": c.severity, "description": c.description,
        "signals": ", ".join(f"{s.module}" + (f" ({', '.join(s.labels)})" if s.labels else "") for s in c.signals),
        "examples": len(c.examples), "counter-examples": len(c.counter_examples)} for c in policy.document.categories])


def _edited(policy: Policy) -> PolicyDocument | None:
    """The document in the editor, or None (with the reason shown) where it is no policy."""
    text = st.text_area("Policy document (JSON)", key=EDITED, height=360,
                        value=json.dumps(policy.document.model_dump(mode="json"), indent=2, ensure_ascii=False))
    try:
        return PolicyDocument.model_validate_json(text)
    except pydantic.ValidationError as error:
        st.error(f"Not a policy: {plain(error.errors()[0]['msg'])} at {plain(error.errors()[0]['loc'])}")
        return None


def _show_dry_run(result: DryRun) -> None:
    columns = st.columns(4)
    columns[0].metric("Past jobs compared", result.jobs_compared)
    columns[1].metric("Newly flagged", result.newly_flagged)
    columns[2].metric("No longer flagged", result.no_longer_flagged)
    columns[3].metric("Risk changed", result.risk_changed)
    st.caption(f"Compared with version {result.compared_version} in {result.seconds:.2f} s; flagged: risk at least "
               f"{result.flag_at}; {result.readings_matching_new_terms} lines said or written match the terms it "
               "adds. Nothing was changed.")
    if result.text_rejudging_needed:
        st.warning("This policy judges text differently (examples or thresholds): the risk above is recomputed from "
                   "the text findings as they were judged; they change for past jobs only when judged again.")
    rows = [{"change": change, "video": item.source_name, "risk before": item.risk_before,
             "risk after": item.risk_after, "place before": item.rank_before, "place after": item.rank_after,
             "categories": ", ".join(item.categories_after)}
            for change, items in (("newly flagged", result.examples_newly_flagged),
                                  ("no longer flagged", result.examples_no_longer_flagged),
                                  ("moved", result.largest_moves),
                                  ("risk changed", result.largest_risk_changes)) for item in items]
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, use_container_width=True)
    if result.rules:
        st.markdown("**Its rules on the same jobs** (draft and background ones too):")
        st.dataframe(pd.DataFrame([{"rule": r.rule, "state": r.state, "fires on": r.fires_on,
                                    "fired before (live version)": r.fired_before} for r in result.rules]),
                     hide_index=True)


def _rules(policy: Policy) -> None:
    document = policy.document
    if not document.rules:
        st.info("No rules: every analysed video goes to the review queue by its risk. Add rules in the document "
                "(Edit and dry-run), e.g. route scams to a queue of their own.")
    else:
        st.dataframe(pd.DataFrame([{
            "rule": r.name, "state": r.state, "when": f"{r.match} of: " + "; ".join(
                " ".join(f"{k}={v}" for k, v in c.model_dump(exclude_defaults=True, mode="json").items()) or "any"
                for c in r.conditions),
            "then": ", ".join(a.type + (f" {a.queue}" if hasattr(a, "queue") else "") for a in r.actions),
            "description": r.description} for r in document.rules]), hide_index=True, use_container_width=True)
    if document.queues:
        st.caption("Queues of the team's own: " + ", ".join(plain(q.name) for q in document.queues))
    _rejudging()


@st.fragment(run_every=3)
def _rejudging() -> None:
    """Re-judge past jobs by the live version, with its progress (polled)."""
    try:
        with session.client() as gateway:
            status = gateway.rejudging()
    except GatewayError as error:  # rejudging_not_found: never re-judged, nothing to show
        status = None
        if error.code != ErrorCode.rejudging_not_found:
            st.error(f"{plain(error.message)} ({error.code})")
    except GatewayUnreachable as error:
        st.error(str(error))
        return
    if status is not None:
        total = status.jobs_total or 0
        st.progress(min(1.0, status.jobs_done / total) if total else 0.0,
                    text=f"Re-judging by version {status.version}: {status.state}, {status.jobs_done} of "
                    f"{'?' if status.jobs_total is None else total} past jobs, {status.risk_changed} with another risk"
                    + (f" ({plain(status.error)})" if status.error else ""))
    running = status is not None and status.state in ("queued", "running")
    if st.button("Re-judge past jobs by the live version", key="policy_rejudge", disabled=running,
                 help="Their texts judged again, their risk and rules by the live version; needs the admin scope") \
            and session.call(lambda c: c.rejudge()) is not None:
        st.rerun()


def _edit(policy: Policy) -> None:
    document = _edited(policy)
    buttons = st.columns(2)
    if buttons[0].button("Dry run on past jobs", key="policy_dry_run", disabled=document is None):
        result = session.call(lambda c: c.dry_run_policy(document))
        if result is not None:
            _show_dry_run(result)
    if buttons[1].button("Save as the live version", key="policy_save", type="primary", disabled=document is None):
        saved = session.call(lambda c: c.save_policy(document))
        if saved is not None:
            st.cache_data.clear()  # the review pages' severities come from the live version
            st.success(f"Saved version {saved.version}: new jobs are judged by it.")


def _term_banks(policy: Policy) -> None:
    banks = session.call(lambda c: c.term_banks()) or []
    if banks:
        st.dataframe(pd.DataFrame([{"bank": b.name, "category": b.category, "terms": b.terms, "version": b.version,
                                    "updated": b.updated_at} for b in banks]), hide_index=True)
    with st.form("term_bank_import"):
        st.markdown("**Add terms**: one per line; `re:` before a regular expression; `#` comments.")
        existing = {b.name: b for b in banks}
        name = st.text_input("Bank", placeholder="a new or existing bank's name")
        category = st.selectbox("Category (of a new bank)", [c.name for c in policy.document.categories])
        terms = st.text_area("Terms", height=160)
        replace = st.toggle("Replace the bank's terms")
        if st.form_submit_button("Import") and name.strip():
            bank = existing.get(name.strip()) or session.call(
                lambda c: c.create_term_bank(TermBankRequest(name=name.strip(), category=category)))
            result = bank and session.call(lambda c: c.import_terms(str(bank.id), terms.encode(), replace))
            if result:
                st.success(f"{plain(result.bank.name)}: {result.added} added, {result.duplicates} already in it.")
    for bank in banks:
        with st.expander(f"{bank.name} ({bank.category}, {bank.terms} terms)"):
            content = session.call(lambda c, bank_id=str(bank.id): c.terms_file(bank_id)) or ""
            st.download_button("Export", content, file_name=f"{bank.name}.txt", key=f"export_{bank.id}")
            st.code(content[:5000] or "(empty)", language=None)


def render() -> None:
    st.title("Policy")
    policy = session.call(lambda c: c.policy_version())
    if policy is None:
        return
    st.caption(f"Version {policy.version}" + (" (the deployment's default)" if policy.version == 0 else "")
               + ": what new jobs are judged by. Saving and dry runs need a key with the admin scope.")
    categories, rules, edit, banks, versions, reviewers = st.tabs(["Categories", "Rules", "Edit and dry-run",
                                                                   "Term banks", "Versions", "Reviewers"])
    with categories:
        st.dataframe(_categories(policy), hide_index=True, use_container_width=True)
    with rules:
        _rules(policy)
    with edit:
        _edit(policy)
    with banks:
        _term_banks(policy)
    with versions:
        saved = session.call(lambda c: c.policy_versions()) or []
        if saved:
            st.dataframe(pd.DataFrame([v.model_dump() for v in saved]), hide_index=True)
        else:
            st.info("No version saved: the team judges by the deployment's default (version 0).")
    with reviewers:
        _reviewers()


def _reviewers() -> None:
    """The team's protection defaults for its reviewers and their daily exposure soft limit (a lead's to set)."""
    me = session.me()
    if Scope.admin not in me.key.scopes:
        st.info("The team's lead (an admin key) sets the reviewers' protection defaults and exposure limit.")
        return
    team = me.team
    current = session.call(lambda c: c.review_settings(team))
    if current is None:
        return
    with st.form("review_settings"):
        st.caption("What a reviewer has until they change their own (in the review page's Protection).")
        defaults = Preferences(
            blur_sensitive=st.toggle("Blur sensitive stretches and frames", current.defaults.blur_sensitive,
                                     key="team_blur"),
            grayscale=st.toggle("Grayscale", current.defaults.grayscale, key="team_gray"),
            muted=st.toggle("Start muted", current.defaults.muted, key="team_muted"),
            open_next=st.toggle("Open the next video after deciding", current.defaults.open_next, key="team_next"))
        minutes = st.number_input("Soft limit of sensitive minutes seen unblurred a day (0: none)", 0.0, 1440.0,
                                  (current.exposure_soft_limit_s or 0.0) / 60, 5.0,
                                  help="Past it, Claim next offers the reviewer the mildest videos first",
                                  key="team_exposure_limit")
        if st.form_submit_button("Save for the team", key="save_review_settings"):
            chosen = TeamReviewSettings(defaults=defaults, exposure_soft_limit_s=minutes * 60 or None)
            if session.call(lambda c: c.set_review_settings(team, chosen), "not saved") is not None:
                st.success("Saved: reviewers who never changed their own settings have these now.")
