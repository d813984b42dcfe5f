"""One router per resource; ``ROUTERS`` is what the app includes, in this order."""

from search_api.routers import admin, docs, health, images, maps, model, pages, search

ROUTERS = [pages.router, docs.router, health.router, search.router, images.router, model.router, maps.router, admin.router]
