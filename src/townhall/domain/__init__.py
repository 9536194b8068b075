"""Pure rules: no I/O, no clock, no framework. Unit-tested without a database."""
