"""Contracts shared by every stage: upstream payloads, stored rows, the snapshot, the config.

This package imports nothing else of traction's, so the adapter can depend on it
inside a LiteLLM process without pulling in the worker's dependencies.
"""
