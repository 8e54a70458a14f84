"""Discord command modules: thin layers over the engine and ingest."""
