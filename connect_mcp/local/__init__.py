"""The local Connect server: the Connect REST API on Starlette and SQLite, for offline use."""
