"""The pipeline's stages, each a function from plain data to plain data."""
