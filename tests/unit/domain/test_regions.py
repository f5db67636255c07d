from __future__ import annotations

import pytest

from poster_common.config import DEFAULT_RESULT_HOSTS, Settings
from poster_common.regions import REGIONS, region_preset
from poster_common.result_download import HostAllowlist

SGP = "dashscope-result-sgp.oss-ap-southeast-1.aliyuncs.com"


def test_beijing_is_todays_endpoint_and_nine_result_hosts() -> None:
    base_url, hosts = region_preset("beijing")
    assert base_url == "https://dashscope.aliyuncs.com/api/v1"
    assert hosts == DEFAULT_RESULT_HOSTS
    assert len(hosts) == 9 == len(set(hosts))
    assert all(h.startswith("dashscope-result-") and h.endswith(".aliyuncs.com") for h in hosts)


def test_singapore_is_the_international_endpoint_and_its_result_host() -> None:
    assert region_preset("singapore") == ("https://dashscope-intl.aliyuncs.com/api/v1", (SGP,))
    assert region_preset(" Singapore ") == region_preset("singapore")


def test_every_preset_is_a_valid_allow_list() -> None:
    for preset in REGIONS.values():
        assert preset.base_url.startswith("https://") and preset.base_url.endswith("/api/v1")
        HostAllowlist.parse(preset.result_hosts)


def test_an_unknown_region_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="beijing, singapore"):
        region_preset("frankfurt")


def test_settings_default_to_beijing() -> None:
    settings = Settings.from_env({})
    assert settings.region == "beijing"
    assert (settings.base_url, settings.result_host_allowlist) == region_preset("beijing")


def test_dashscope_region_selects_base_url_and_hosts_together() -> None:
    settings = Settings.from_env({"DASHSCOPE_REGION": "SINGAPORE"})
    assert settings.region == "singapore"
    assert settings.base_url == "https://dashscope-intl.aliyuncs.com/api/v1"
    assert settings.result_host_allowlist == (SGP,)


def test_explicit_base_url_and_host_list_still_override_the_region() -> None:
    settings = Settings.from_env(
        {
            "DASHSCOPE_REGION": "singapore",
            "DASHSCOPE_BASE_URL": "https://composer.example.test/api/v1",
            "RESULT_HOST_ALLOWLIST": "bucket.s3.eu-west-1.amazonaws.com",
        }
    )
    assert settings.base_url == "https://composer.example.test/api/v1"
    assert settings.result_host_allowlist == ("bucket.s3.eu-west-1.amazonaws.com",)
    only_url = Settings.from_env({"DASHSCOPE_REGION": "singapore", "DASHSCOPE_BASE_URL": "https://x.test/api/v1"})
    assert only_url.result_host_allowlist == (SGP,)


def test_an_unknown_region_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="DASHSCOPE_REGION 'mars'"):
        Settings.from_env({"DASHSCOPE_REGION": "mars"})
