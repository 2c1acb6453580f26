"""The one KPI registry."""
