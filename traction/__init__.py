"""traction: the worker that turns adoption signals and prices into a routing snapshot.

Kept import-light on purpose: `ingest` and `scoring` import `traction.store`, and
nothing here may pull in litellm.
"""

__version__ = "0.1.0"
