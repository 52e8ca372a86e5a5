"""Spark advice from lake table statistics (placeholder until written)."""
