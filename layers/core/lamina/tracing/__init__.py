"""Tracing: OTLP ingest (raw bodies to S3, then the `tracing` queue), the worker that stores spans, span queries."""
