"""The Streamlit review UI: ``streamlit run`` on ``APP_PATH`` (the launcher's ``ui`` service). It talks to the
gateway only, through ``vidsafe/client.py``, with the reviewer's API key kept in the browser session."""

from pathlib import Path

APP_PATH = Path(__file__).with_name("app.py")
