"""The batches page: upload several videos as a batch (modules, thresholds, start at once or not), and follow
every batch with its progress and counts per state; start, pause, cancel, retry."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from vidsafe.catalogue import Module
from vidsafe.domain.batches import Batch
from vidsafe.domain.jobs import JobOptions
from vidsafe.ui import session
from vidsafe.ui.markdown import plain

VIDEO_TYPES = ["mp4", "mov", "m4v", "webm", "mkv", "avi", "ts"]
ACTIONS = ("start", "pause", "resume", "cancel", "retry")


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


def _control(batch: Batch) -> None:
    columns = st.columns(len(ACTIONS))
    for column, action in zip(columns, ACTIONS, strict=True):
        if column.button(action.capitalize(), key=f"{action}_{batch.id}"):
            result = session.call(lambda c, name=action: c.control_batch(str(batch.id), name), f"could not {action}")
            if result is not None:
                st.toast(f"{action}: {len(result.changed)} jobs changed, {result.skipped} skipped")


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
            st.progress(batch.progress, text=f"{batch.progress:.0%}")
            _control(batch)


def render() -> None:
    st.title("Batches")
    _create()
    _list()
