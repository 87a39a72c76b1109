"""keel built-in plugin package: notary."""
