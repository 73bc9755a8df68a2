"""Fakes that stand in for the outside world in tests (a scripted OpenAI-compatible server)."""
