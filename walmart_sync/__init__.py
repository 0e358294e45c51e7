"""walmart-sync: the CLI and the runtime plumbing every component shares."""
