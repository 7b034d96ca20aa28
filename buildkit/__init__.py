"""Helpers of build.py: third-party assets, dataset chunks, start-up bytecode, the local server."""
