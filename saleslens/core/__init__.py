"""Shared foundations: schema, store, settings, filters, i18n, access, export, base charts."""
