"""Pure translation between Commerce rows and Walmart payloads: no I/O here."""
