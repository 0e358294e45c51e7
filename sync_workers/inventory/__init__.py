"""The inventory push worker: Commerce salable quantity -> Walmart."""
