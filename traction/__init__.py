"""traction: the worker that turns adoption signals and prices into a routing snapshot.

Kept import-light on purpose: nothing here may pull in litellm. (The layers below,
`store`, `ingest` and `scoring`, never import this package.)
"""

__version__ = "0.1.0"
