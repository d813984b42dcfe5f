"""Catalog rows <-> the typed records callers see: the one place that maps between them.

``store.py``, ``generations.py`` and ``check.py`` all turn ORM rows into records (and
index-build facts into columns); keeping the mapping here means none of them reaches
into another's private helpers.
"""

from __future__ import annotations

from storage.geo import geo_info, geo_row
from storage.models import GenerationRow, ImageRow
from storage.records import ImageRecord, IndexBuild, ModelIdentity, NewImage


def image_record(row: ImageRow) -> ImageRecord:
    return ImageRecord(
        id=row.id,
        source=row.source,
        member=row.member,
        sha256=row.sha256,
        byte_size=row.byte_size,
        width=row.width,
        height=row.height,
        format=row.format,
        mtime=row.mtime,
        added_at=row.added_at,
        geo=geo_info(row.geo),
    )


def image_row(image: NewImage) -> ImageRow:
    fields = {name: value for name, value in image.__dict__.items() if name != "geo"}
    return ImageRow(**fields, geo=None if image.geo is None else geo_row(image.geo))


def model_identity_of(generation: GenerationRow) -> ModelIdentity:
    return ModelIdentity(generation.model_id, generation.model_fingerprint, generation.dimension)


def index_build_of(generation: GenerationRow) -> IndexBuild | None:
    if generation.index_built_vectors is None:
        return None
    return IndexBuild(
        index_type=generation.index_type,
        vectors=generation.index_built_vectors,
        seconds=generation.index_build_seconds or 0.0,
        nprobe=generation.index_nprobe,
        recall_at_10=generation.index_recall_at_10,
        text_recall_at_10=generation.index_text_recall_at_10,
        text_queries=generation.index_text_queries,
        rerank=generation.index_rerank,
        memory_budget=generation.index_memory_budget,
        text_nprobe=generation.index_text_nprobe,
        text_rerank=generation.index_text_rerank,
        candidates=generation.index_candidates,
        text_candidates=generation.index_text_candidates,
        text_cells=generation.index_text_cells,
    )


def index_build_columns(build: IndexBuild) -> dict:
    return dict(
        index_type=build.index_type,
        index_built_vectors=build.vectors,
        index_build_seconds=build.seconds,
        index_nprobe=build.nprobe,
        index_recall_at_10=build.recall_at_10,
        index_text_recall_at_10=build.text_recall_at_10,
        index_text_queries=build.text_queries,
        index_rerank=build.rerank,
        index_memory_budget=build.memory_budget,
        index_text_nprobe=build.text_nprobe,
        index_text_rerank=build.text_rerank,
        index_candidates=build.candidates,
        index_text_candidates=build.text_candidates,
        index_text_cells=build.text_cells,
    )
