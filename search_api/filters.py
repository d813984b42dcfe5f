"""Place/time/source filters and the result format, as query or form parameters.

One definition serves both: ``GET /search/similar`` takes them in the query string,
``POST /search/image`` as form fields beside the upload (``POST /search/text`` has them
in its JSON body, see ``models.SearchFilterFields``).
"""

# No `from __future__ import annotations`: FastAPI must see the closure's real Query/Form types.

from datetime import date
from typing import Annotated

from fastapi import Depends, Form, Query

from service.geo_results import BBOX_PATTERN, make_filters
from search_api.errors import BadRequestError
from search_api.models import BBOX_HELP, FORMAT_HELP, MAX_SOURCE_CHARS, ResultFormat, SearchFilterFields
from storage import SearchFilters


def filters_of(fields: SearchFilterFields) -> SearchFilters | None:
    return checked_filters(fields.bbox, fields.date_from, fields.date_to, fields.source)


def checked_filters(bbox, date_from, date_to, source) -> SearchFilters | None:
    try:
        return make_filters(bbox, date_from, date_to, source)
    except ValueError as exc:
        raise BadRequestError(str(exc)) from None


def _filter_parameters(param):
    """A dependency reading the filters with ``param`` (fastapi.Query or fastapi.Form)."""

    # Typed without None (the default), so the schema declares a string or a date, not "or null",
    # which a query string or a form cannot send.
    def dependency(
        bbox: Annotated[str, param(description=BBOX_HELP, json_schema_extra={"pattern": BBOX_PATTERN})] = None,
        date_from: Annotated[date, param(description="acquired on or after this day")] = None,
        date_to: Annotated[date, param(description="acquired on or before this day")] = None,
        source: Annotated[
            str, param(description="folder, archive or full path starts with this", max_length=MAX_SOURCE_CHARS)
        ] = None,
    ) -> SearchFilters | None:
        return checked_filters(bbox, date_from, date_to, source)

    return dependency


QueryFiltersDep = Annotated[SearchFilters | None, Depends(_filter_parameters(Query))]
FormFiltersDep = Annotated[SearchFilters | None, Depends(_filter_parameters(Form))]
QueryFormat = Annotated[ResultFormat, Query(description=FORMAT_HELP)]
FormFormat = Annotated[ResultFormat, Form(description=FORMAT_HELP)]
