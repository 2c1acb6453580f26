"""The Overview feature."""
