# The Airflow image the compose file runs: the official 3.3 image plus this package's pinned runtime.
FROM apache/airflow:3.3.2-python3.11
COPY requirements.txt /requirements.txt
RUN pip install --no-cache-dir -r /requirements.txt
# The package as an Airflow provider (its connection types, hooks, triggers and extra links), installed
# editable from /opt/airflow/plugins, the folder the compose file mounts: edits there need no rebuild.
COPY --chown=airflow:root pyproject.toml /opt/airflow/pyproject.toml
COPY --chown=airflow:root plugins /opt/airflow/plugins
RUN pip install --no-cache-dir --no-deps -e /opt/airflow
