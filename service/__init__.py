"""The query service shared by the command line and the HTTP API.

Below both: ``rsclip`` (the CLI, the top floor) and ``search_api`` (HTTP) import from
here, and nothing here imports either of them. It ties the encoder and the store into
searches, classification and image files, and holds the settings and the user-facing
error type they share.
"""

from service.errors import UserError

__version__ = "0.1.0"

__all__ = ["UserError", "__version__"]
