"""Fuzzing the API's OpenAPI schema (schemathesis) on a real stack."""
