"""The building blocks of the migration DAGs. Stable signatures (keyword-only; all take BaseOperator's kwargs).

Flink statements (``operators.flink``; common: ``flink_conn_id="confluent_flink_default"``,
``wait_timeout=3600`` s, ``poll_interval=5`` s, ``deferrable=True``; console link per task):

- ``SubmitStatementOperator(sql, table=None, pipeline_version=None, migration_run="{{ run_id }}",
  statement_name=None, properties=None, target_phase="RUNNING"|"COMPLETED", wait=True,
  compute_pool_id=None, principal=None, stop_on_kill=True)`` -> statement snapshot; XCom
  ``statement_name``. Name = ``statements.statement_name(table, pipeline_version, migration_run)``
  unless given. 409: adopt if same SQL+properties, else ``StatementConflictError``.
- ``StopStatementOperator(statement_name)`` -> ``{"statement_name", "phase", "latest_offsets",
  "latest_offsets_timestamp", "offsets"}``; XCom ``latest_offsets``.
- ``ReplaceStatementOperator(replaces, on_stopped=None, **SubmitStatementOperator's)``: stops
  ``replaces``, then at once submits (one task: no scheduling round trip while the table has no
  writer) -> the new statement's snapshot; ``on_stopped(context, offsets)`` between the two;
  ``stop_on_kill`` defaults to False (a killed task leaves the new writer running).
- ``ResumeStatementOperator(statement_name)`` -> snapshot (RUNNING).
- ``DeleteStatementOperator(statement_name, missing_ok=True)`` -> bool.
- ``ListStatementsOperator(statement_names=None, name_prefix=None, label_selector=None)`` -> [snapshot].
- ``DryRunStatementOperator(sql, properties=None)`` -> ``{"phase", "detail", "traits"}``.

Snapshot = ``{"name", "sql", "phase", "detail", "stopped", "properties", "latest_offsets",
"latest_offsets_timestamp", "compute_pool_id", "principal", "is_bounded"}``.

Bounded SQL and checks: common-sql's own ``SQLExecuteQueryOperator``, ``SQLColumnCheckOperator``,
``SQLTableCheckOperator``, ``SQLCheckOperator``, ``SqlSensor``... with ``conn_id="confluent_flink_default"``
(the provider maps connection type ``confluent_flink`` to ``hooks.flink_sql.FlinkSqlHook``); helpers
for ``SqlSensor`` in ``sensors.flink_sql``: ``row_count_parity_sql``, ``counts_within``, ``column_count_sql``.

Schema Registry (``operators.schema_registry``; common: ``schema_registry_conn_id="schema_registry_default"``,
``environment_id=None`` (link; default from the Flink connection)):

- ``BackupSubjectsOperator(subjects, location=None, storage_conn_id=None, backup_name="{{ run_id }}")``
  -> ``{"path", "sha256", "subjects": {subject: [versions]}}``.
- ``CheckSchemaCompatibilityOperator(subject, schema, level=None)`` -> ``{"subject", "level",
  "compatible", "checked_versions"}``; raises ``SchemaIncompatibleError``.
- ``SetSubjectCompatibilityOperator(subject, level)`` -> ``{"subject", "level", "previous",
  "previous_effective"}``.
- ``RegisterSchemaOperator(subject, schema)`` -> ``{"subject", "version", "id", "registered"}``.
- ``RevertSubjectOperator(subject, versions, previous_compatibility=None, restore_compatibility=True)``
  -> ``{"subject", "deleted_versions", "latest_version", "compatibility"}``.

Batches (``operators.batch``): ``CheckSchemaCompatibilityOperator``, ``SetSubjectCompatibilityOperator``,
``RegisterSchemaOperator``, ``DryRunStatementOperator``, ``StopStatementOperator``,
``SubmitStatementOperator`` (items ``{"statement_name", "sql", "properties"}``), option C's
``BackUpTableOperator`` and ``DropTableOperator`` (``migration.recreate``; their waits, which end in
seconds, polled in the worker) and ``ReplaceStatementOperator`` (items
``{"replaces", "statement_name", "sql", "properties"}``; each table's stop and create paired, the
deferred waits of a batch in one ``StatementsPhaseTrigger``; ``on_stopped(context, offsets, index=,
item=)``) also take ``items`` (a list of their
per-item kwargs) instead of their own fields, with ``first_index=0``, ``max_concurrency=10`` and the
per-item callbacks ``before_item``/``after_item``/``done_items`` (``migration.ledger.recorded_items``):
every item is acted on concurrently in the one task, and the task returns the list of the items'
results or fails with one error naming each failed item (``BatchFailedError``, retried, the done
items adopted; ``BatchRefusedError`` when every failure is final).

Approval (``operators.approval``): ``RejectableApprovalOperator(subject, body, ...)``, Airflow's
``ApprovalOperator`` whose *Reject* fails at once while other failures retry.

Steps (``operators.step``; ``migration.dag_defaults.call``/``call_if``): ``StepOperator(python_callable,
op_args=())`` -> the callable's return value (``op_args`` templated, XComArgs resolved; the context
passed by parameter name, as ``@task`` passes it); ``StepIfOperator``: a false result skips the tasks
right after it. ``RunSummaryOperator`` (``operators.summary``): a step that links the run's report.

Sensors (``sensors.flink``; ``deferrable=True``, ``timeout`` in seconds):
``StatementPhaseSensor(statement_name, target_phases=("RUNNING",))``,
``StatementsCaughtUpSensor(statement_names, threshold=0, metrics_conn_id="confluent_metrics_default")``.
"""
