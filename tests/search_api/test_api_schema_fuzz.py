"""Schemathesis against the app: every operation, schema-valid and schema-invalid requests, every check.

The OpenAPI schema is the contract: a request it allows is answered (2xx, or 404 for an
id that is not indexed), a request it forbids is refused with a 4xx, every answer has
the declared status and shape. Bounded (EXAMPLES per operation and mode) and seeded
(derandomized), so the run is the same every time and takes well under a minute.

Two things a schema cannot state are left out of the "must be accepted" side, and only
those: an uploaded file's bytes being a decodable image (random bytes get 400/415, as
documented), and a filter's min <= max across two fields (date_from/date_to, the bbox's
corners), which get 422. Both are refused with their reason in other tests.
"""

from __future__ import annotations

from datetime import date

import pytest
import schemathesis
from hypothesis import HealthCheck, assume, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

EXAMPLES = 12
_UPLOADS = ("POST /search/image", "POST /classify", "POST /similarity", "POST /embed", "POST /images/preview")
CONFIG = """
seed = 20261128
[generation]
deterministic = true
[checks]
enabled = true
""" + "".join(
    f"""
[[operations]]
include-name = "{name}"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "400", "413", "415"]
"""
    for name in _UPLOADS
)


def _filter_fields(case) -> dict:
    fields = {}
    for part in (case.query, case.body):
        if isinstance(part, dict):
            fields.update(part)
    return fields


def breaks_a_cross_field_rule(case) -> bool:
    """min > max between two fields: the one rule OpenAPI cannot state (the API answers 422 with it)."""
    fields = _filter_fields(case)
    try:
        if fields.get("date_from") and fields.get("date_to"):
            if date.fromisoformat(str(fields["date_from"])) > date.fromisoformat(str(fields["date_to"])):
                return True
        if isinstance(fields.get("bbox"), str):
            min_lon, min_lat, max_lon, max_lat = (float(v) for v in fields["bbox"].split(","))
            return min_lon > max_lon or min_lat > max_lat
    except ValueError:
        return False
    return False


@pytest.fixture(scope="module")
def api_schema(app):
    config = schemathesis.config.SchemathesisConfig.from_str(CONFIG)
    return schemathesis.openapi.from_asgi("/openapi.json", app, config=config)


def _operations(schema):
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_every_operation_honours_its_openapi_schema(api_schema, mode):
    failures = []
    for operation in _operations(api_schema):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        def honours_schema(case):
            if mode == GenerationMode.POSITIVE:
                assume(not breaks_a_cross_field_rule(case))
            case.call_and_validate()

        try:
            honours_schema()
        except Unsatisfiable:
            continue  # no parameters at all: nothing can be invalid
        except BaseException as exc:  # schemathesis reports a group of failures
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            failures.append(f"{operation.label}: {str(exc)[:2000]}")
    assert not failures, "\n\n".join(failures)
