"""Run Confluent's own ``confluent-sql`` integration tests against a running sandbox.

The suite (``tests/integration/`` of github.com/confluentinc/confluent-sql) is written for
Confluent Cloud: its conftest reads ``CONFLUENT_*`` environment variables and builds the endpoint
from ``CONFLUENT_CLOUD_PROVIDER`` and ``CONFLUENT_CLOUD_REGION``. This module changes only that:
loaded as a pytest plugin (``-p sandbox.conformance``) it makes ``confluent_sql.connect`` use
``CONFLUENT_SANDBOX_ENDPOINT`` in place of cloud and region. Nothing else of the suite is touched.

``python -m sandbox.conformance --suite DIR --endpoint URL [pytest args]`` sets the environment
for a sandbox started with the default credentials and runs the suite's connection, cursor and
fetch tests (see the README's "Confluent's own driver tests" section). It needs a Python with
``confluent-sql``, ``pytest``, ``pytest-mock`` and ``python-dotenv`` installed; this project does
not pin them for that purpose.
"""

from __future__ import annotations

import functools
import os
import sys

ENDPOINT_VAR = "CONFLUENT_SANDBOX_ENDPOINT"
SUITE_FILES = ("test_connection.py", "test_cursor.py", "test_fetch.py")


def pytest_configure(config) -> None:  # noqa: ANN001, ARG001 - pytest hook
    endpoint = os.environ.get(ENDPOINT_VAR)
    if not endpoint:
        return
    import confluent_sql
    import confluent_sql.connection

    original = confluent_sql.connection.connect

    @functools.wraps(original)
    def connect(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        if kwargs.get("endpoint") is None and (kwargs.get("cloud_provider") or kwargs.get("cloud_region")):
            kwargs.pop("cloud_provider", None)
            kwargs.pop("cloud_region", None)
            kwargs["endpoint"] = endpoint
        return original(*args, **kwargs)

    confluent_sql.connect = connect
    confluent_sql.connection.connect = connect


def main(argv: list[str]) -> int:
    import argparse

    import pytest

    parser = argparse.ArgumentParser(prog="python -m sandbox.conformance", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     allow_abbrev=False)
    parser.add_argument("--suite", required=True, help="a checkout of confluentinc/confluent-sql")
    parser.add_argument("--endpoint", default="http://127.0.0.1:8085", help="the sandbox's URL")
    parser.add_argument("--api-key", default="sandbox-key")
    parser.add_argument("--api-secret", default="sandbox-secret")
    parser.add_argument("--organization-id", default="00000000-0000-4000-8000-00000000000a")
    parser.add_argument("--environment-id", default="env-sandbox")
    parser.add_argument("--compute-pool-id", default="lfcp-sandbox")
    parser.add_argument("--database", default="sandbox-cluster")
    args, pytest_args = parser.parse_known_args(argv)
    os.environ.update({
        ENDPOINT_VAR: args.endpoint,
        "CONFLUENT_FLINK_API_KEY": args.api_key,
        "CONFLUENT_FLINK_API_SECRET": args.api_secret,
        "CONFLUENT_ORG_ID": args.organization_id,
        "CONFLUENT_ENV_ID": args.environment_id,
        "CONFLUENT_COMPUTE_POOL_ID": args.compute_pool_id,
        "CONFLUENT_TEST_DBNAME": args.database,
        # the suite skips without them; the plugin replaces them by the endpoint
        "CONFLUENT_CLOUD_PROVIDER": "aws",
        "CONFLUENT_CLOUD_REGION": "us-east-2",
    })
    os.environ.pop("CONFLUENT_GLOBAL_API_KEY", None)
    os.environ.pop("CONFLUENT_GLOBAL_API_SECRET", None)
    tests = [os.path.join(args.suite, "tests", "integration", f) for f in SUITE_FILES]
    # -o addopts=: the suite's own addopts ask for pytest-cov
    return pytest.main(["-p", "sandbox.conformance", "--rootdir", args.suite, "-o", "addopts=",
                        "--strict-markers", "--tb=short", *tests, *pytest_args])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
