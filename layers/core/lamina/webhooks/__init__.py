"""Webhooks: signed deliveries of domain events to subscribers' URLs, retried, logged and circuit-broken."""
