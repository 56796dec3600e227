"""The Responses API over prosa's Chat Completions core: translated both ways, cached like chat."""
