"""DashScope region presets: a region's API base URL and the hosts its result URLs come from, together.

Keys are per region too: a Beijing key does not work in Singapore, so choose the secret with the region.
``DASHSCOPE_BASE_URL`` / ``RESULT_HOST_ALLOWLIST`` still override a preset (``poster_common.config``).

Examples
--------
>>> base_url, hosts = region_preset("singapore")
>>> base_url, hosts
('https://dashscope-intl.aliyuncs.com/api/v1', ('dashscope-result-sgp.oss-ap-southeast-1.aliyuncs.com',))
"""

from __future__ import annotations

from typing import NamedTuple

DEFAULT_REGION = "beijing"


class RegionPreset(NamedTuple):
    """Unpacks as ``(base_url, result_hosts)``."""

    base_url: str
    result_hosts: tuple[str, ...]


REGIONS: dict[str, RegionPreset] = {
    "beijing": RegionPreset(
        "https://dashscope.aliyuncs.com/api/v1",
        (
            "dashscope-result-bj.oss-cn-beijing.aliyuncs.com",
            "dashscope-result-hz.oss-cn-hangzhou.aliyuncs.com",
            "dashscope-result-sh.oss-cn-shanghai.aliyuncs.com",
            "dashscope-result-wlcb.oss-cn-wulanchabu.aliyuncs.com",
            "dashscope-result-zjk.oss-cn-zhangjiakou.aliyuncs.com",
            "dashscope-result-sz.oss-cn-shenzhen.aliyuncs.com",
            "dashscope-result-hy.oss-cn-heyuan.aliyuncs.com",
            "dashscope-result-cd.oss-cn-chengdu.aliyuncs.com",
            "dashscope-result-gz.oss-cn-guangzhou.aliyuncs.com",
        ),
    ),
    # Base URL: the Wan 2.5 image-editing reference; result host: the example on docs.qwencloud.com.
    "singapore": RegionPreset(
        "https://dashscope-intl.aliyuncs.com/api/v1",
        ("dashscope-result-sgp.oss-ap-southeast-1.aliyuncs.com",),
    ),
}


def region_preset(name: str) -> RegionPreset:
    """The preset called ``name`` (any letter case, surrounding spaces ignored).

    Raises
    ------
    ValueError
        An unknown region, naming the known ones.
    """
    preset = REGIONS.get(name.strip().lower())
    if preset is None:
        raise ValueError(f"DASHSCOPE_REGION {name!r} is not a known region; use one of: {', '.join(sorted(REGIONS))}")
    return preset
