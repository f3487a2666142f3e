"""hb_sim's public names: every one exported once, none from a private module by mistake."""

from __future__ import annotations

import hb_sim


def test_every_public_name_is_exported_once() -> None:
    assert len(hb_sim.__all__) == len(set(hb_sim.__all__))
    for name in hb_sim.__all__:
        assert hasattr(hb_sim, name), name


def test_no_private_module_leaks() -> None:
    public = {name for name in dir(hb_sim) if not name.startswith("_")}
    modules = {"cli"}  # the console-script module is public on purpose
    assert public - modules - {"annotations"} <= set(hb_sim.__all__)


def test_public_objects_belong_to_the_package() -> None:
    assert hb_sim.MockHsm.__module__ == "hb_sim"
    assert hb_sim.load_scenario.__module__ == "hb_sim"
    assert hb_sim.Scenario.__module__ == "hb_sim"
