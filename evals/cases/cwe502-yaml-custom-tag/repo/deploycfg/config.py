"""Deploy configuration: YAML with an !env tag that reads environment variables."""
import os

import yaml


class EnvLoader(yaml.Loader):
    """A loader that understands `!env NAME`."""


def _env(loader, node):
    return os.environ.get(loader.construct_scalar(node), "")


EnvLoader.add_constructor("!env", _env)


def load_config(text):
    return yaml.load(text, Loader=EnvLoader)
