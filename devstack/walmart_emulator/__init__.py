"""An emulator of the Walmart Marketplace seller API (see app.py)."""
