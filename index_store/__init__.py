"""The store that ingest and the bot share: Chroma vectors plus the source registry."""
