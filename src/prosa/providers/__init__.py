"""Model providers: the openai SDK (OpenAI and any compatible server) and the embedded llama.cpp model."""

from .base import Provider

__all__ = ["Provider"]
