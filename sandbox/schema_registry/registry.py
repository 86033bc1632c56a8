"""PLACEHOLDER: replaced by the Schema Registry implementation."""
from sandbox.store import Store


class SchemaRegistry:
    def __init__(self, store: Store) -> None:
        self.store = store
