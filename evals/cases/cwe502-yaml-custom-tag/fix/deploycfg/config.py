"""Deploy configuration: YAML with an !env tag that reads environment variables."""
import os

import yaml


class EnvLoader(yaml.SafeLoader):
    """A safe loader that also understands `!env NAME`."""


def _env(loader, node):
    return os.environ.get(loader.construct_scalar(node), "")


EnvLoader.add_constructor("!env", _env)


def load_config(text):
    loader = EnvLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
