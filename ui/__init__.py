"""The Streamlit review UI (a later issue): moderators review findings here, reading Postgres."""
