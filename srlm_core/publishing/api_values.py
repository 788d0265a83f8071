"""Sphinx extension: the API appendix prints a module constant's value only when it is short.

A table of glue names (a dictionary of up to a few hundred literal names, one per number the
book cites) printed as the one-line ``repr`` of its value fills screens of the appendix and
pages of the PDF.  Its doc comment says what it holds, and its ``[source]`` link shows it laid
out; a value whose ``repr`` is longer than :data:`VALUE_LIMIT` characters is left out of the
signature.  Enable it in ``book/_config.yml`` (``sphinx: extra_extensions``).
"""

from __future__ import annotations

from sphinx.ext.autodoc import DataDocumenter
from sphinx.util.inspect import object_description

#: The longest value, in characters of its ``repr``, that the appendix prints.
VALUE_LIMIT = 120


class ShortValueDataDocumenter(DataDocumenter):
    """autodoc's documenter of module-level data, leaving out values over
    :data:`VALUE_LIMIT` characters."""

    def should_suppress_value_header(self) -> bool:
        if super().should_suppress_value_header():
            return True
        try:
            return len(object_description(self.object)) > VALUE_LIMIT
        except ValueError:  # an object without a printable repr
            return True


def setup(app):
    app.setup_extension("sphinx.ext.autodoc")
    app.add_autodocumenter(ShortValueDataDocumenter, override=True)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
