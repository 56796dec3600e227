"""Adapters that let other frameworks use prosa's providers and cache (``prosa.langchain``)."""
