"""Tenant settings in YAML."""
import yaml


def load_settings(text):
    """Parse a tenant's YAML settings document."""
    data = yaml.load(text, Loader=yaml.Loader)
    return data or {}
