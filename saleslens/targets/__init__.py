"""The Targets & forecast feature: facts, arithmetic, target sets, charts, CLI."""
