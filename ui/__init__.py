"""Streamlit helpers shared by the pages: connection, auth, form renderer, feedback."""
