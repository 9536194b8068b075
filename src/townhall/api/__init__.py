"""HTTP and WebSocket interfaces under /api/v1: parse, authenticate, call a service, render."""
