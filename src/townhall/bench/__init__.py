"""Load benchmarks run by `townhall bench …`; they talk to a server only over its public API."""
