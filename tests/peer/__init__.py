"""Peer test suites (jax, Flax, braintools) ported to run against jaxinit through ``_shim``."""
