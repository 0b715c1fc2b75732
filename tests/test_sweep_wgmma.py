"""scripts/sweep_wgmma.py turns a configuration string into the planner's MQ_FORCE_* overrides."""

import os

import pytest
from script_loader import load_script

KNOBS = ("MQ_FORCE_WG", "MQ_FORCE_SKINNY", "MQ_FORCE_PAIR", "MQ_FORCE_SPLIT", "MQ_WG_POST")


@pytest.fixture
def sweep(monkeypatch):
    for knob in KNOBS:
        monkeypatch.delenv(knob, raising=False)
    module = load_script("sweep_wgmma")
    yield module
    for knob in KNOBS:  # force() sets os.environ itself; leave nothing for later tests
        os.environ.pop(knob, None)


def forced():
    return {knob: os.environ[knob] for knob in KNOBS if knob in os.environ}


def test_tile_single_blocks_and_ranges_per_tile(sweep):
    sweep.force("64:2:6:2@single/s1")
    assert forced() == {"MQ_FORCE_WG": "64,2,6,2", "MQ_FORCE_PAIR": "0", "MQ_FORCE_SPLIT": "1"}
    sweep.force("plan/s3")
    assert forced() == {"MQ_FORCE_SPLIT": "3"}
    sweep.force("16:4:8:2@pair/s2")
    assert forced() == {"MQ_FORCE_WG": "16,4,8,2", "MQ_FORCE_PAIR": "2", "MQ_FORCE_SPLIT": "2"}
    sweep.force("sk=8:2")
    assert forced() == {"MQ_FORCE_SKINNY": "8,2"}
    sweep.force("off")
    assert forced() == {"MQ_FORCE_WG": "off"}
    sweep.force("plan")
    assert forced() == {}


def test_scales_after_or_before_the_mma(sweep):
    sweep.force("32:4:4:2+post")
    assert forced() == {"MQ_FORCE_WG": "32,4,4,2", "MQ_WG_POST": "1"}
    sweep.force("64:2:6:2@single+pre")
    assert forced() == {"MQ_FORCE_WG": "64,2,6,2", "MQ_FORCE_PAIR": "0", "MQ_WG_POST": "0"}
    sweep.force("plan")
    assert forced() == {}


@pytest.mark.parametrize("cfg", ["plan/s0", "plan/sx", "plan/s"])
def test_a_bad_ranges_suffix_is_refused(sweep, cfg):
    with pytest.raises(SystemExit, match="want /sN with N >= 1"):
        sweep.force(cfg)


def test_layers_given_as_k_by_n(sweep):
    assert sweep.parse_layers("4096x4096,3584x4608") == [(4096, 4096), (3584, 4608)]


@pytest.mark.parametrize("spec", ["4096", "4096x", "4096x4096x2", "0x4096", "4096x-1", "4096x4096,"])
def test_bad_layers_are_refused(sweep, spec):
    with pytest.raises(ValueError, match="give KxN"):
        sweep.parse_layers(spec)
