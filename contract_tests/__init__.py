"""Contract tests of the callback endpoint: judge an implementation against openapi.yaml."""
