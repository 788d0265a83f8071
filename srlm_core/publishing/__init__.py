"""From computation to the book: the results registry, provenance, the chapter-side glue
(report), citations, and the Sphinx extension that keys the execution cache by the code."""
