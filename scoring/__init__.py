"""Turn stored history into scores (polars) and publish them as a snapshot.

Never imports litellm. The formula lives in `formula.py` and nowhere else.
"""
