"""The end-to-end benchmark's video: 60 s of 1280x720 at 25 fps with what a moderated upload has, its ground
truth known exactly.

Shots of 2.5 to 5 s cut hard from one to the next, each panning or zooming over a scikit-image photo; the
astronaut (a face) comes back three times; a caption is shown for a whole shot, another for one second in the
middle of one, a ticker scrolls across two shots; four sentences are spoken by espeak-ng.
"""

from __future__ import annotations

from pathlib import Path

from vidsafe.export.sample_video import Caption, Scene, Speech, make_sample_video

SIZE = (1280, 720)
SCENES = (
    Scene("coffee", 0.0, 4.0, caption="FREE GIFT CARDS INSIDE", zoom_per_s=0.03),
    Scene("astronaut", 4.0, 8.0, pan_px_s=30.0),
    Scene("rocket", 8.0, 11.0, zoom_per_s=0.05),
    Scene("chelsea", 11.0, 15.0, pan_px_s=-20.0),
    Scene("hubble_deep_field", 15.0, 18.0, zoom_per_s=0.08),
    Scene("astronaut", 18.0, 22.0, zoom_per_s=0.04, pan_px_s=0.0),
    Scene("immunohistochemistry", 22.0, 26.0, pan_px_s=40.0),
    Scene("coffee", 26.0, 30.0, caption="CALL 0800 123 456 NOW", pan_px_s=-10.0),
    Scene("camera", 30.0, 32.5),
    Scene("clock", 32.5, 37.0, pan_px_s=25.0),
    Scene("chelsea", 37.0, 41.0, zoom_per_s=0.05),
    Scene("astronaut", 41.0, 45.0, pan_px_s=-30.0),
    Scene("rocket", 45.0, 49.0, pan_px_s=15.0),
    Scene("retina", 49.0, 53.0, zoom_per_s=0.06),
    Scene("colorwheel", 53.0, 57.0, pan_px_s=20.0),
    Scene("astronaut", 57.0, 60.0, zoom_per_s=0.03),
)
CAPTIONS = (
    Caption("LIVE ACCOUNT FOR SALE", 33.0, 41.0, scroll_px_s=20.0),
    Caption("SEND MONEY TO WIN", 47.0, 48.0),
)
SPEECH = (
    Speech("Please check this video before it is published.", 4.5),
    Speech("Send the gift card numbers to this account today.", 19.0),
    Speech("The meeting starts at nine in the morning.", 37.5),
    Speech("Nobody should see this part of the stream.", 50.0),
)


def make_bench_video(path: Path) -> Path:
    return make_sample_video(path, SCENES, SPEECH, CAPTIONS, SIZE)
