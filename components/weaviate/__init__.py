"""Weaviate: API-key authentication (one user per key), admin list authorization, TLS."""
