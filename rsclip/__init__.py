"""rsclip-search's command line: the top floor over the query service, the indexer and the API."""

from service import __version__

__all__ = ["__version__"]
