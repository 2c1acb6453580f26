"""The Data health feature."""
