"""Helpers of build.py: third-party assets, dataset chunks, the local server."""
