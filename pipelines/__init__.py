"""Item pipelines: what happens to an extracted article before it reaches the index."""
