"""The people page: the team's faces grouped into people across videos; name, hide, every video a person appears
in; merge two (their faces side by side, who stays said, asked once, undone by splitting the moved faces off
again); split the faces of chosen videos off into a new person."""

from __future__ import annotations

import cv2
import numpy as np
import streamlit as st

from vidsafe.domain.requests import PersonUpdate
from vidsafe.domain.review import Person
from vidsafe.ui import navigation, session
from vidsafe.ui.markdown import plain
from vidsafe.ui.navigation import clock

_UNDO = "people_undo"  # (the merged person's name, their faces) of the last merge


def _face_crop(person: Person) -> bytes | None:
    cover = person.cover
    if cover is None or cover.finding.frame_index is None or cover.finding.box is None:
        return None
    jpeg = session.cached("thumbnail", str(cover.job_id), cover.finding.frame_index)
    job = session.cached("job", str(cover.job_id))
    if jpeg is None or job is None:
        return None
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    scale = image.shape[1] / max(1, job.media.width if job.media else image.shape[1])
    x1, y1, x2, y2 = (max(0, round(v * scale)) for v in cover.finding.box)
    crop = image[y1:max(y1 + 1, y2), x1:max(x1 + 1, x2)]
    ok, png = cv2.imencode(".png", crop)
    return png.tobytes() if ok and crop.size else None


def _card(person: Person) -> None:
    with st.container(border=True, key=f"person_{person.id}"):
        crop = _face_crop(person)
        if crop is not None:
            st.image(crop, width=96)
        st.markdown(f"**{plain(person.name or 'unnamed')}** - {person.faces} faces in {person.jobs} videos")
        name = st.text_input("Name", value=person.name or "", key=f"name_{person.id}", label_visibility="collapsed")
        buttons = st.columns(2)
        if buttons[0].button("Save name", key=f"save_{person.id}"):
            session.call(lambda c: c.update_person(str(person.id), PersonUpdate(name=name.strip() or None)))
            st.rerun()
        if buttons[1].button("Show" if person.hidden else "Hide", key=f"hide_{person.id}"):
            session.call(lambda c: c.update_person(str(person.id), PersonUpdate(hidden=not person.hidden)))
            st.rerun()
        if st.toggle("Videos", key=f"videos_{person.id}"):
            hits = session.call(lambda c: c.appearances(str(person.id))) or []
            for hit in hits:
                if st.button(f"{plain(hit.source_name)} at {clock(hit.finding.timestamp_s)}",
                             key=f"appearance_{person.id}_{hit.finding.id}", type="tertiary"):
                    navigation.open_review(str(hit.job_id), hit.finding.timestamp_s)
            _split(person, hits)


def _split(person: Person, hits: list) -> None:
    """Move the person's faces in the chosen videos to a new person (a wrong grouping taken apart)."""
    if len(hits) < 2:
        return
    chosen = st.multiselect("Not the same person in", hits, key=f"split_{person.id}",
                            format_func=lambda h: f"{h.source_name} ({str(h.job_id)[:8]})")
    if chosen and st.button("Split them off", key=f"split_go_{person.id}"):
        videos = {hit.job_id for hit in chosen}
        faces = [h.finding.id for h in session.call(lambda c: c.appearances(str(person.id), every_face=True)) or []
                 if h.job_id in videos and h.finding.id is not None]
        if faces and session.call(lambda c: c.split_person(faces)) is not None:
            st.toast(f"{len(faces)} faces split off into a new person")
            st.rerun()


def _label(person: Person) -> str:
    return f"{person.name or 'unnamed'} ({person.faces} faces in {person.jobs} videos, {str(person.id)[:8]})"


def _merge(people: list[Person]) -> None:
    """Merge: the first chosen stays (its id, and its name, else the other's); the second's faces join it."""
    with st.container(border=True):
        st.markdown("**Merge two people**")
        pair = st.multiselect("The one who stays, then the one merged into them", people, max_selections=2,
                              key="merge_pair", format_func=_label)
        if len(pair) == 2:
            stays, goes = pair
            columns = st.columns(2)
            for column, person, role in ((columns[0], stays, "stays"), (columns[1], goes, "merged in, then gone")):
                with column:
                    crop = _face_crop(person)
                    if crop is not None:
                        st.image(crop, width=96)
                    st.caption(f"{plain(_label(person))}: {role}")
            if st.button(f"Merge {goes.faces} faces into {plain(stays.name or 'unnamed')}", key="merge",
                         type="primary"):
                moved = [h.finding.id for h in session.call(lambda c: c.appearances(str(goes.id), every_face=True))
                         or [] if h.finding.id is not None]
                if session.call(lambda c: c.merge_people(str(stays.id), str(goes.id))) is not None:
                    st.session_state[_UNDO] = (goes.name, moved)
                    st.session_state.pop("merge_pair", None)
                    st.rerun()
        undo = st.session_state.get(_UNDO)
        if undo and st.button(f"Undo the last merge ({len(undo[1])} faces back to a person of their own)",
                              key="merge_undo"):
            restored = session.call(lambda c: c.split_person(undo[1]))
            if restored is not None and undo[0]:
                session.call(lambda c: c.update_person(str(restored.id), PersonUpdate(name=undo[0])))
            st.session_state.pop(_UNDO)
            st.rerun()


def render() -> None:
    st.title("People")
    show_hidden = st.toggle("Show hidden people", key="people_hidden")
    people = session.call(lambda c: c.people(hidden=show_hidden, limit=60)) or []
    if not people:
        st.info("No faces yet: people appear once videos with faces are analysed.")
        return
    _merge(people)
    columns = st.columns(3)
    for slot, person in enumerate(people):
        with columns[slot % 3]:
            _card(person)
