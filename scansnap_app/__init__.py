"""Streamlit-side helpers of the dashboard: controls, per-session trainers, live views."""
