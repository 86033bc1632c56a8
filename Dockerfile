# The Airflow image the compose file runs: the official 3.3 image plus this package's pinned runtime.
FROM apache/airflow:3.3.2-python3.11
COPY requirements.txt /requirements.txt
RUN pip install --no-cache-dir -r /requirements.txt
