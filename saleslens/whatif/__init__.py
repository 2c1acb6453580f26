"""The What-if feature: scenarios, commission plans, saved scenarios, charts, CLI."""
