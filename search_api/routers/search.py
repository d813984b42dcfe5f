"""Ranked images for a text, an uploaded photo, or an indexed image."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from rsclip.searcher import Searcher
from search_api import services as deps
from search_api.models import SearchResults, TextQuery
from search_api.shaping import search_results

router = APIRouter(prefix="/search", tags=["search"])


@router.post("/text", response_model=SearchResults)
def search_text(body: TextQuery, request: Request, searcher: Searcher = Depends(deps.searcher)) -> SearchResults:
    hits = searcher.search_text(body.query, body.k, body.offset)
    return search_results(request, hits, body.k, body.offset)
