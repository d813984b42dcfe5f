"""One router per resource; ``ROUTERS`` is what the app includes, in this order.

``PHOTO_ROUTERS`` take multipart forms that may carry a photo, so their bodies may be as
large as an upload (``--max-upload-mb``); every other body is small (request_checks).
"""

from search_api.routers import admin, health, images, model, pages, search

ROUTERS = [pages.router, health.router, search.router, images.router, model.router, admin.router]
PHOTO_ROUTERS = [search.router, model.router]
