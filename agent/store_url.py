"""Moved to agent.store.url; this name stays until its last importer (agent/app) imports the new one."""

from agent.store.url import ENV, redact, repo_key, sqlite_path, store_url

__all__ = ["ENV", "redact", "repo_key", "sqlite_path", "store_url"]
