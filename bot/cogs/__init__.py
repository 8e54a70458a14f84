"""Discord commands, one extension a module (``async def setup(bot)``), loaded by name: ``EXTENSIONS`` in
``bot/client.py``. Each keeps only Discord input and output over the engine and ingest."""
