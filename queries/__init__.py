"""Named DuckDB queries (one SELECT per .sql file) and the runner that executes them."""
