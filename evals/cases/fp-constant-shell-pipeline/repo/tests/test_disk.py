import re

from ops.disk import disk_usage_report


def test_report_is_a_size():
    assert re.fullmatch(r"[0-9.,]+[KMGT]?", disk_usage_report())
