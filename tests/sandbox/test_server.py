"""The sandbox server itself: auth, restart durability, and the contract checker catching a breach."""

from __future__ import annotations

import requests

from sandbox.contracts import ContractValidator
from tests.support.sandbox_fixtures import CONTRACTS_DIR


def test_wrong_credentials_get_401_in_each_apis_error_shape(sandbox):
    sr = requests.get(f"{sandbox.url}/subjects", auth=("nobody", "wrong"), timeout=5)
    assert sr.status_code == 401
    assert sr.json() == {"error_code": 401, "message": "Unauthorized"}
    flink = requests.get(f"{sandbox.flink_base}/statements", timeout=5)
    assert flink.status_code == 401
    assert flink.json()["errors"][0]["code"] == "user_unauthenticated"


def test_contract_checker_flags_a_response_that_breaks_the_spec(tmp_path):
    validator = ContractValidator(CONTRACTS_DIR, tmp_path / "violations.jsonl")
    common = dict(method="GET", path="/config", query={}, headers={"authorization": "Basic eDp5"}, body=b"")
    good = validator.check(**common, status=200, response_body=b'{"compatibilityLevel": "FULL"}',
                           response_content_type="application/vnd.schemaregistry.v1+json")
    bad = validator.check(**common, status=200, response_body=b'{"compatibilityLevel": 7}',
                          response_content_type="application/vnd.schemaregistry.v1+json")
    assert good == []
    assert bad and "response" in bad[0]
    assert (tmp_path / "violations.jsonl").read_text().count("\n") == 1


def test_known_spec_defects_are_waived_only_where_they_apply(tmp_path):
    validator = ContractValidator(CONTRACTS_DIR, tmp_path / "violations.jsonl")
    query = dict(method="POST", query={}, headers={"authorization": "Basic eDp5", "content-type": "application/json"},
                 body=b'{"aggregations": [{"metric": "io.confluent.flink/num_records_in"}], "granularity": "PT1M",'
                      b' "intervals": ["2026-01-01T00:00:00Z/2026-01-01T01:00:00Z"]}',
                 status=200, response_content_type="application/json")
    assert validator.check(path="/v2/metrics/cloud/query", response_body=b'{"data": []}', **query) == []
    broken = validator.check(path="/v2/metrics/cloud/query", response_body=b'{"data": 5}', **query)
    assert broken and "response" in broken[0]
