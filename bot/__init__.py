"""Front ends over the answering engine: the terminal (and the Discord bot)."""
