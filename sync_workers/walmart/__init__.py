"""Walmart Marketplace API: published rate limits, typed errors and the client."""
