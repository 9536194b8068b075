"""Use cases. Every authorization check lives here; HTTP, WebSocket and CLI call the same code."""
