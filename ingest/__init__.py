"""Fetch upstream payloads, check them against `schemas`, and land facts in the store.

Never imports litellm: the worker must start in well under a second.
"""
