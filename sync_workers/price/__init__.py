"""The price push worker: Commerce effective price -> Walmart."""
