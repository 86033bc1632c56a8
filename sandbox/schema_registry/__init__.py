"""Confluent Schema Registry API (``confluent-schema-registry-v1.openapi.yaml``) for the sandbox.

:class:`registry.SchemaRegistry` holds the state (DuckDB tables ``sr_*``) and the rules; ``api``
serves it over HTTP. Modelled: subjects, versions, global stable ids (from 100001), lookup, schema
by id, references and referenced-by, soft and permanent deletes, compatibility (NONE, BACKWARD,
FORWARD, FULL and their _TRANSITIVE forms, by ``avro.compatibility``), config (compatibility and
normalize, global and per subject, defaultToGlobal), mode (READWRITE, READONLY,
READONLY_OVERRIDE, IMPORT), ``/schemas``, ``/schemas/types``, ``/contexts`` (the default one).

Not modelled: schema types other than AVRO (JSON and PROTOBUF are refused with 42201), the
``format`` parameter, contexts other than the default, exporters (schema linking), the DEK
registry (``/dek-registry``), data-contract metadata and rule sets (``metadata``, ``ruleSet``,
``/subjects/{s}/metadata``; refused when given), schema tags, ``/clusterconfig``, config fields
beyond compatibility and normalize (aliases, validate*, compatibilityGroup/Policy, default and
override metadata/rules; refused when given), schema guids, rate limits (429) and the
``Confluent-Accept-Unknown-Properties`` extra fields.
"""
