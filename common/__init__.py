"""The bottom layer: settings, text helpers, logging set-up and the shared exceptions.

It imports nothing of citebot's own packages; every other package may import it.
"""
