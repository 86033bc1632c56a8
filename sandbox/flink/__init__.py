"""Confluent Cloud for Apache Flink, as the sandbox models it: the statements API executing Flink SQL
for real over DuckDB, with tables that are topics that are Schema Registry subjects.

Python API (``sandbox.flink`` is the :class:`~sandbox.flink.service.FlinkService` of a ``Sandbox``):

- ``submit(name, sql, properties=None) -> dict``: create a statement, as ``POST .../statements``
  does (same validation, 409 on a used name as :class:`sandbox.errors.ApiError`); returns the
  statement resource. DDL, SHOW, DESCRIBE, SET, INSERT ... VALUES and snapshot queries
  (``{"sql.snapshot.mode": "now"}``) complete before it returns; INSERT INTO ... SELECT, CREATE
  TABLE AS SELECT and unbounded SELECTs come back RUNNING and are stepped by the executor thread.
- ``get(name) -> dict``: the statement resource, as ``GET .../statements/{name}`` returns it.
- ``produce(table, rows, op="upsert")``: append rows (dicts by column name; datetimes, Decimals
  fine) to a table's topic as a source CDC writer would; ``op="delete"`` writes tombstones for the
  rows' keys (upsert tables only).
- ``table_rows(table) -> list[dict]``: the table's current contents (its log folded: last record
  per key for upsert tables), typed as DuckDB returns them.
- ``wait_idle(timeout=10.0) -> bool``: wait until every RUNNING statement has consumed its sources.
- ``progress() -> list[dict]``: per statement name, compute pool, phase, records in/out, pending.

Modules: ``types`` (Flink types <-> DuckDB, result values), ``topics`` (partitioned logs with
offsets), ``catalog`` (tables, their subjects and schema evolution), ``translate`` (sqlglot parsing,
planning against the catalog, DuckDB SQL), ``changelog`` (folding logs, diffing outputs),
``engine`` (running statements), ``records`` (statement persistence), ``service`` (lifecycle and
the Python API), ``executor`` (the background thread), ``api`` (the HTTP routes).

Modelled choices where Confluent's behaviour is unconfirmed or out of reach:

- ``sql.tables.initial-offset-from`` is refused (the statement ends FAILED with a detail saying why)
  for a stateful statement: an aggregate, DISTINCT, a join, an upsert source or an upsert sink.
  A stateless one waits PENDING until the named statement is STOPPED, then starts from its
  ``latest_offsets``.
- Statements are executed in micro-batches: each step re-runs the query over the folded sources
  and emits the difference, so the changelog is coarser than Flink's per-record one, while the
  final contents are the same. ``CURRENT_TIMESTAMP`` columns change only when their row changes.
- A PUT with a stale ``metadata.resource_version`` answers 409, as Confluent's description of the
  operation says, although the published contract lists no 409 response for PUT. The version
  changes when what the API shows changes (spec, phase, detail, offsets, exceptions), not while
  records flow through a running statement.
- Not modelled: watermarks and windows (watermark metrics report none), ``timestamp`` and
  ``specific-offsets`` startup modes, ALTER TABLE, statement sets, UDFs, state TTL, and statement
  scaling; SQL the sandbox cannot run ends FAILED with a detail that says so.
"""
