"""Ingest jobs: split sources into chunks and embed them into the shared store."""
