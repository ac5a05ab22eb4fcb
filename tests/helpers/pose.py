"""The pose model's reference: photos and mediapipe's own landmarks for them (tests/fixtures/pose/), who is in them."""

from __future__ import annotations

import json

from tests.fixtures.pose.make_reference import FIXTURES, reference_images

MODEL = "pose"


IMAGES = reference_images()


REFERENCE = {name: json.loads((FIXTURES / f"{name}.json").read_text()) for name in IMAGES}
PEOPLE = [name for name, record in REFERENCE.items() if record["landmarks"] is not None]
NOBODY = [name for name in IMAGES if name not in PEOPLE]
