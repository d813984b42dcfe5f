"""The HTTP face of rsclip-search: a FastAPI app (REST API + the web page at ``/``).

Handlers only translate HTTP: they parse a request, call one service function in
``rsclip/`` and shape the answer. Build the app with :func:`create_app`.
"""

from search_api.settings import ApiSettings

__all__ = ["ApiSettings", "create_app"]


def __getattr__(name: str):
    # FastAPI is imported only when an app is built, so `rsclip --help` stays quick.
    if name == "create_app":
        from search_api.app import create_app

        return create_app
    raise AttributeError(name)
