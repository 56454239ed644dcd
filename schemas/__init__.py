"""The event and alert contract as code (pydantic v2 models, JSON Schema export)."""
