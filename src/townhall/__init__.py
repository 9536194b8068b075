"""Townhall: an instant-messaging server with the duties of a regulated provider built in."""

__version__ = "0.1.0"
