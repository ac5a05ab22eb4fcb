"""The people page: the team's faces grouped into people across videos; name, hide, merge, and every video a
person appears in."""

from __future__ import annotations

import cv2
import numpy as np
import streamlit as st

from vidsafe.domain.requests import PersonUpdate
from vidsafe.domain.review import Person
from vidsafe.ui import navigation, session
from vidsafe.ui.markdown import plain
from vidsafe.ui.navigation import clock


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
        with st.expander("Videos"):
            for hit in session.call(lambda c: c.appearances(str(person.id))) or []:
                if st.button(f"{plain(hit.source_name)} at {clock(hit.finding.timestamp_s)}",
                             key=f"appearance_{person.id}_{hit.finding.id}", type="tertiary"):
                    navigation.open_review(str(hit.job_id), hit.finding.timestamp_s)


def render() -> None:
    st.title("People")
    show_hidden = st.toggle("Show hidden people", key="people_hidden")
    people = session.call(lambda c: c.people(hidden=show_hidden, limit=60)) or []
    if not people:
        st.info("No faces yet: people appear once videos with faces are analysed.")
        return
    with st.expander("Merge two people"):
        pair = st.multiselect("People", people, max_selections=2, key="merge_pair",
                              format_func=lambda p: f"{p.name or 'unnamed'} ({p.faces} faces, {str(p.id)[:8]})")
        if len(pair) == 2 and st.button("Merge", key="merge"):
            session.call(lambda c: c.merge_people(str(pair[0].id), str(pair[1].id)))
            st.rerun()
    columns = st.columns(3)
    for slot, person in enumerate(people):
        with columns[slot % 3]:
            _card(person)
