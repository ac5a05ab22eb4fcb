"""The batches page: upload several videos as a batch (modules, thresholds, start at once or not: for a key that
may submit), and follow every batch with its progress, counts per state and its videos; the actions its jobs'
states allow (start, pause, resume, cancel, retry), cancelling asked once."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from vidsafe.catalogue import Module
from vidsafe.domain.batches import Batch
from vidsafe.domain.jobs import JobOptions, JobStatus
from vidsafe.domain.teams import Scope
from vidsafe.ui import navigation, session
from vidsafe.ui.markdown import plain
from vidsafe.ui.navigation import clock

VIDEO_TYPES = ["mp4", "mov", "m4v", "webm", "mkv", "avi", "ts"]
# Each action, and the states of the jobs it applies to (a batch offers it while one of its jobs is in one).
ACTIONS = {"start": {JobStatus.pending}, "pause": {JobStatus.queued, JobStatus.running},
           "resume": {JobStatus.paused},
           "cancel": {JobStatus.pending, JobStatus.queued, JobStatus.running, JobStatus.paused},
           "retry": {JobStatus.failed, JobStatus.cancelled}}
_CONFIRMING = "batch_cancel_confirming"
_SHOWN_PROGRESS = "batch_progress_shown"


def _create() -> None:
    modules = [m.module for m in (session.call(lambda c: c.modules()) or []) if m.available]
    defaults = session.policy().min_scores
    with st.form("new_batch", clear_on_submit=True):
        st.subheader("New batch")
        name = st.text_input("Name", key="batch_name", max_chars=200)
        files = st.file_uploader("Videos", type=VIDEO_TYPES, accept_multiple_files=True, key="batch_files")
        chosen = st.multiselect("Modules", modules, default=modules, key="batch_modules",
                                format_func=lambda m: str(m))
        with st.expander("Thresholds"):
            columns = st.columns(4)
            thresholds = {module: columns[i % 4].number_input(
                str(module), 0.0, 1.0, float(defaults.get(module, 0.0)), 0.05, key=f"threshold_{module}")
                for i, module in enumerate(modules)}
        auto_start = st.checkbox("Start at once", value=True, key="batch_auto_start")
        if not st.form_submit_button("Create batch", type="primary"):
            return
    if not name.strip() or not files:
        st.error("A batch needs a name and at least one video.")
        return
    options = JobOptions(modules=[Module(m) for m in chosen] or None,
                         min_scores={Module(m): v for m, v in thresholds.items() if m in chosen})
    created = session.call(lambda c: c.create_batch({"name": name.strip(), "auto_start": auto_start}),
                           "the batch was not created")
    if created is None:
        return
    progress = st.progress(0.0, text="uploading ...")
    for done, upload in enumerate(files, start=1):
        with tempfile.NamedTemporaryFile(suffix=Path(upload.name).suffix) as spool:
            spool.write(upload.getbuffer())
            spool.flush()
            session.call(lambda c, path=Path(spool.name), shown=upload.name: c.upload(
                path, params={"batch_id": str(created.batch.id)}, options=options, name=shown),
                f"{upload.name} was refused")
        progress.progress(done / len(files), text=f"uploaded {done} of {len(files)}")
    st.success(f"Batch {plain(name)} created with {len(files)} videos.")


def offered(batch: Batch) -> list[str]:
    """The actions that would change one of the batch's jobs."""
    present = {status for status, count in batch.counts.items() if count}
    return [action for action, states in ACTIONS.items() if present & states]


def _act(batch: Batch, action: str) -> None:
    result = session.call(lambda c: c.control_batch(str(batch.id), action), f"could not {action}")
    if result is not None:
        st.toast(f"{action}: {len(result.changed)} jobs changed, {result.skipped} skipped")


def _control(batch: Batch) -> None:
    actions = offered(batch)
    if not actions:
        return
    confirming = st.session_state.get(_CONFIRMING) == str(batch.id)
    columns = st.columns(max(len(actions), 2) + 3)
    for column, action in zip(columns, actions, strict=False):
        if column.button(action.capitalize(), key=f"{action}_{batch.id}", disabled=confirming):
            if action == "cancel":
                st.session_state[_CONFIRMING] = str(batch.id)
                st.rerun(scope="fragment")
            _act(batch, action)
    if confirming:
        waiting = sum(batch.counts.get(s, 0) for s in ACTIONS["cancel"])
        st.warning(f"Cancel {waiting} jobs of {plain(batch.name)}? Uploaded videos not yet analysed are deleted.")
        yes, no = st.columns([1, 1])
        if yes.button("Cancel them", key=f"confirm_cancel_{batch.id}", type="primary"):
            st.session_state.pop(_CONFIRMING)
            _act(batch, "cancel")
        if no.button("Keep them", key=f"keep_{batch.id}"):
            st.session_state.pop(_CONFIRMING)
            st.rerun(scope="fragment")


def shown_progress(batch: Batch) -> float:
    """The batch's progress, never shown going back while its jobs are the same (a chunk started again, a job
    resumed from its parts); a retry or new videos start it afresh."""
    shown: dict[str, tuple[int, int, float]] = st.session_state.setdefault(_SHOWN_PROGRESS, {})
    failed = batch.counts.get(JobStatus.failed, 0) + batch.counts.get(JobStatus.cancelled, 0)
    jobs, was_failed, before = shown.get(str(batch.id), (batch.jobs, failed, 0.0))
    progress = max(before, batch.progress) if (jobs, was_failed) == (batch.jobs, failed) else batch.progress
    shown[str(batch.id)] = (batch.jobs, failed, progress)
    return progress


def _videos(batch: Batch) -> None:
    # A toggle, not an expander: an expander's content runs (and asks the gateway) even while it is closed.
    if not st.toggle(f"Its {batch.jobs} videos", key=f"videos_{batch.id}"):
        return
    page = session.call(lambda c: c.jobs_page(limit=100, batch_id=str(batch.id)))
    for job in page[0] if page else []:
        columns = st.columns([3, 1, 1, 1])
        columns[0].write(plain(job.source_name))
        columns[1].write(f"{job.status}" + (f" {job.progress:.0%}" if job.status == JobStatus.running else ""))
        columns[2].write(clock(job.media.duration_s) if job.media else "-")
        if job.status == JobStatus.succeeded and columns[3].button("Review", key=f"open_{job.id}"):
            navigation.open_review(str(job.id))


@st.fragment(run_every=3)
def _list() -> None:
    batches = session.call(lambda c: c.batches(limit=50)) or []
    if not batches:
        st.info("No batches yet.")
        return
    for batch in batches:
        with st.container(border=True, key=f"batch_{batch.id}"):
            counts = ", ".join(f"{status}: {n}" for status, n in sorted(batch.counts.items())) or "no jobs"
            st.markdown(f"**{plain(batch.name)}** - {batch.jobs} videos - {counts}")
            progress = shown_progress(batch)
            st.progress(progress, text=f"{progress:.0%}")
            _control(batch)
            _videos(batch)


def render() -> None:
    st.title("Batches")
    if {Scope.submit, Scope.admin} & set(session.me().key.scopes):
        _create()
    else:
        st.caption("Your key may not submit videos: ask an admin for the submit scope to create batches.")
    _list()
