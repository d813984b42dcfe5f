"""rsclip-search: command line, settings and the query service that ties the parts together."""

__version__ = "0.1.0"
