"""The Funnel feature: stage logic, charts, CLI."""
