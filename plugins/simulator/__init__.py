"""keel built-in plugin package: simulator."""
