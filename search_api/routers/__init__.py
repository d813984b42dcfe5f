"""One router per resource; ``ROUTERS`` is what the app includes, in this order."""

from search_api.routers import health, images, search

ROUTERS = [health.router, search.router, images.router]
