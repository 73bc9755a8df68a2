"""suture: LLM-assisted vulnerability remediation."""
__version__ = "0.1.0"
