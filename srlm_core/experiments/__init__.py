"""Experiments behind the book's figures and tables.

An experiment module defines a config dataclass ``Config``, ``run(config) -> values`` (seeded,
plain JSON-serialisable data), and plotting functions that take the values (or their
analysis) and return a matplotlib figure.  Chapters call these; the command line writes the
same values into result records.
"""
