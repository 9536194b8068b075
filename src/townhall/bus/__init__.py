"""Realtime pub/sub: the doorbell that tells live connections an event was committed."""
