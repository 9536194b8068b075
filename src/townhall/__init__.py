"""Townhall: an instant-messaging server with the duties of a regulated provider built in."""

import os

__version__ = "0.1.0"

# pypinyin loads its 47,000 phrases at import (about 40 MB of a server's memory). Townhall reads
# only the phrases read otherwise than their characters alone (domain/normalize.py loads them);
# set here, before any module of ours can import pypinyin. An operator's "" keeps them all.
os.environ.setdefault("PYPINYIN_NO_PHRASES", "1")
