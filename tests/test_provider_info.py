"""The provider as Airflow sees it: its info valid against Airflow's own schema, every class it names
importable and consistent, the connection form's fields, the connections the project defines, and
the package's dependencies against requirements.txt's pins.

Airflow finds the provider here by the entry point that ``tests/conftest.py`` registers from the source
tree; ``tests/test_provider_package.py`` installs the built wheel instead."""

from __future__ import annotations

import inspect
import json
import re
import tomllib
from importlib import import_module
from pathlib import Path

import jsonschema
import pytest
import yaml
from airflow.providers_manager import ProvidersManager
from airflow.sdk import BaseOperatorLink, Connection
from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime
from airflow.triggers.base import BaseTrigger
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from confluent_migration.get_provider_info import PACKAGE_NAME, get_provider_info
from confluent_migration.hooks.flink_sql import FlinkSqlHook
from confluent_migration.hooks.flink_statements import FlinkStatementsHook
from confluent_migration.hooks.metrics import ConfluentMetricsHook
from confluent_migration.hooks.schema_registry import SchemaRegistryHook
from sandbox.config import SandboxConfig
from sandbox.connections import airflow_connections

ROOT = Path(__file__).resolve().parent.parent
INFO = get_provider_info()
CONN_TYPES = {c["connection-type"]: c for c in INFO["connection-types"]}
HOOKS = {"confluent_flink": FlinkSqlHook, "confluent_schema_registry": SchemaRegistryHook,
         "confluent_metrics": ConfluentMetricsHook}


def airflow_schema(name: str) -> dict:
    import airflow

    return json.loads((Path(airflow.__file__).parent / name).read_text())


def test_the_provider_info_is_valid_against_airflows_schema():
    jsonschema.validate(INFO, airflow_schema("provider_info.schema.json"))
    assert INFO["package-name"] == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"]


def test_the_form_behaviour_of_each_connection_type_is_valid_against_airflows_schema():
    schema = airflow_schema("customized_form_field_behaviours.schema.json")
    for conn_type, config in CONN_TYPES.items():
        behaviour = config["ui-field-behaviour"]
        jsonschema.validate({k.replace("-", "_"): v for k, v in behaviour.items()}, schema)
        assert "schema" in behaviour["hidden-fields"], conn_type  # the host is a full URL


def test_every_class_and_module_it_names_imports_and_is_what_it_says():
    for section in ("operators", "sensors", "hooks", "triggers"):
        for entry in INFO[section]:
            assert entry["integration-name"] in {i["integration-name"] for i in INFO["integrations"]}
            for module in entry["python-modules"]:
                import_module(module)
    triggers = [cls for e in INFO["triggers"] for m in e["python-modules"]
                for _, cls in inspect.getmembers(import_module(m), inspect.isclass)
                if issubclass(cls, BaseTrigger) and cls.__module__ == m]
    assert {t.__name__ for t in triggers} == {"StatementPhaseTrigger", "StatementsPhaseTrigger", "PendingRecordsTrigger"}
    for path in INFO["extra-links"]:
        module, _, name = path.rpartition(".")
        assert issubclass(getattr(import_module(module), name), BaseOperatorLink)
    from confluent_migration.plugin import ConfluentMigrationPlugin

    assert {f"{type(link).__module__}.{type(link).__name__}" for link in ConfluentMigrationPlugin.operator_extra_links} \
        == set(INFO["extra-links"])


@pytest.mark.parametrize("conn_type", sorted(HOOKS))
def test_each_connection_type_names_its_hook_and_the_hook_agrees(conn_type):
    config, hook = CONN_TYPES[conn_type], HOOKS[conn_type]
    assert config["hook-class-name"] == f"{hook.__module__}.{hook.__name__}"
    assert (hook.conn_type, hook.hook_name) == (conn_type, config["hook-name"])
    assert FlinkStatementsHook.conn_type == "confluent_flink"  # the same connection, through the REST API


def test_airflow_registers_the_provider_its_connection_types_and_hooks():
    manager = ProvidersManager()
    assert PACKAGE_NAME in manager.providers
    hooks = ProvidersManagerTaskRuntime().hooks
    for conn_type, hook in HOOKS.items():
        info = hooks[conn_type]
        assert info is not None, f"Airflow could not import the hook of {conn_type}"
        assert (info.hook_class_name, info.package_name) == (f"{hook.__module__}.{hook.__name__}", PACKAGE_NAME)
    assert set(INFO["extra-links"]) <= set(manager.extra_links_class_names)
    assert {t.trigger_class_name for t in manager.trigger if t.package_name == PACKAGE_NAME} == \
        {"confluent_migration.triggers.flink"}


@pytest.mark.parametrize("conn_type", sorted(HOOKS))
def test_a_connection_of_each_type_builds_its_hook(conn_type):
    conn = Connection(conn_id=f"my_{conn_type}", conn_type=conn_type, host="https://example.invalid")
    hook = conn.get_hook()
    assert type(hook) is HOOKS[conn_type]
    assert getattr(hook, hook.conn_name_attr) == f"my_{conn_type}"


def test_the_connection_form_shows_the_flink_ids_and_relabels_the_standard_fields():
    """What the UI's connection form gets from the API server (``/ui/connections/hook_meta``)."""
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

    meta = {m.connection_type: m for m in HookMetaService.hook_meta_data()}
    flink = meta["confluent_flink"]
    assert flink.hook_name == "Confluent Flink SQL"
    assert list(flink.extra_fields) == ["organization_id", "environment_id", "compute_pool_id", "principal",
                                        "catalog", "database"]
    assert flink.extra_fields["environment_id"]["schema"]["title"] == "Environment ID"
    assert flink.standard_fields.login.title == "Flink API key"
    assert flink.standard_fields.url_schema.hidden
    registry = meta["confluent_schema_registry"]
    assert registry.standard_fields.host.title == "Schema Registry URL" and not registry.extra_fields
    assert meta["confluent_metrics"].standard_fields.password.title == "Cloud API secret"


def test_the_projects_connections_use_the_registered_types_and_the_forms_fields():
    sandbox = airflow_connections(SandboxConfig(data_dir=ROOT / ".sandbox"))
    compose = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
    env = compose["services"]["airflow-scheduler"]["environment"]
    for conn_id, conn in sandbox.items():
        declared = json.loads(re.sub(r"\$\{[^}]*\}", "", env[f"AIRFLOW_CONN_{conn_id.upper()}"]))
        assert conn["conn_type"] == declared["conn_type"] and conn["conn_type"] in CONN_TYPES, conn_id
    flink_fields = set(CONN_TYPES["confluent_flink"]["conn-fields"])
    assert set(sandbox["confluent_flink_default"]["extra"]) == flink_fields
    assert set(json.loads(re.sub(r"\$\{[^}]*\}", "", env["AIRFLOW_CONN_CONFLUENT_FLINK_DEFAULT"]))["extra"]) \
        == flink_fields


def pins() -> dict[str, str]:
    found = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            req = Requirement(line)
            found[canonicalize_name(req.name)] = str(req.specifier).removeprefix("==")
    return found


def test_the_package_depends_on_what_requirements_txt_pins_and_each_pin_is_in_range():
    deps = {canonicalize_name(r.name): r for r in map(Requirement, tomllib.loads(
        (ROOT / "pyproject.toml").read_text())["project"]["dependencies"])}
    pinned = pins()
    # pinned for the deployment, not imported by the package: Airflow brings pendulum, confluent-kafka[avro] fastavro
    assert set(pinned) - set(deps) == {"pendulum", "fastavro"}
    for name, version in pinned.items():
        if name in deps:
            assert deps[name].specifier.contains(version), f"requirements.txt pins {name}=={version}, " \
                                                           f"outside the package's {deps[name]}"
    assert deps["confluent-kafka"].extras == {"avro", "schemaregistry"}
    assert deps["sqlglot"].extras == {"c"}  # sqlglotc: the same release, compiled
