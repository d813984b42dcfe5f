"""One router per resource; ``ROUTERS`` is what the app includes, in this order."""

from search_api.routers import admin, health, images, model, pages, search

ROUTERS = [pages.router, health.router, search.router, images.router, model.router, admin.router]
