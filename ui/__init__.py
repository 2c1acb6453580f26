"""Streamlit helpers shared by dashboard.py and the pages: context, filters, widgets."""
