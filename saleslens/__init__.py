"""Sales Lens: sales-performance analytics over Parquet snapshots of CRM data."""

__version__ = "0.1.0"
