"""Federation's API endpoints pass the same OpenAPI checks as the core's."""

from __future__ import annotations

from tests.core import test_openapi as core_checks

from .helpers import Cluster


def test_federation_endpoints_are_documented(cluster: Cluster) -> None:
    server = cluster.start("A")
    paths = {path for path, _, _ in core_checks.operations(core_checks.get_document(server))}
    assert "/api/federation/lookup" in paths
    assert "/api/federation/requests/{request_id}/accept" in paths
    for check in (
        core_checks.test_the_document_is_openapi_3,
        core_checks.test_every_route_is_documented_and_every_documented_route_exists,
        core_checks.test_path_parameters_match_the_path,
        core_checks.test_every_write_with_a_body_documents_its_schema,
        core_checks.test_every_operation_documents_its_answers_with_schemas,
    ):
        check(server)
