"""Quorum's domain: plain Python over DuckDB. Never imports streamlit."""
