"""The moderation API is in ``/api/openapi.json`` like the core's: the core's own
checks of the document, run against an instance with the plugin enabled."""

from __future__ import annotations

from tests.core import test_openapi as core_checks
from tests.helpers import LiveServer


def test_the_moderation_api_is_documented(mserver: LiveServer) -> None:
    doc = core_checks.get_document(mserver)
    ours = [path for path in doc["paths"] if path.startswith("/api/moderation/")]
    assert len(ours) >= 12, ours
    core_checks.test_every_route_is_documented_and_every_documented_route_exists(mserver)
    core_checks.test_path_parameters_match_the_path(mserver)
    core_checks.test_every_write_with_a_body_documents_its_schema(mserver)
    core_checks.test_every_operation_documents_its_answers_with_schemas(mserver)
    core_checks.test_every_ref_resolves(mserver)
