"""The claims registries and inventories of economic_evaluation and human_in_the_loop load, validate and agree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from capfront_lib.core.claims import load_registry

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("stem", ["economic_evaluation", "human_in_the_loop"])
def test_registry_validates_and_inventory_covers_it(stem):
    reg = load_registry(stem)
    ids = set(reg.ids)
    text = (ROOT / "data" / stem / "claims.inventory.md").read_text()
    named = set(re.findall(r"`([A-Za-z0-9_.\-]+)`", text))
    # every registry id is listed in the inventory, and every id-like name in an inventory table row is registered
    assert ids <= named, sorted(ids - named)
    table_ids = {n for line in text.splitlines() if line.startswith("|")
                 for n in re.findall(r"`([a-z0-9_]+)`", line.split("|")[-2] if line.count("|") >= 3 else "")}
    assert table_ids <= ids, sorted(table_ids - ids)
    for c in reg.claims:
        assert c.section.startswith("sec-"), c.id
        if c.rule == "not-checkable":
            assert c.why, c.id
        elif c.rule in ("value", "equivalence"):
            assert c.tolerance_why, c.id
    # the section labels exist in the chapter's notebook
    nb = (ROOT / "notebooks" / f"{stem}.md").read_text()
    for sec in {c.section for c in reg.claims}:
        assert f"({sec})=" in nb, sec


def test_offline_checkable_share():
    """Most headline claims are measured offline; the rest say why not."""
    for stem in ("economic_evaluation", "human_in_the_loop"):
        reg = load_registry(stem)
        measured = [c for c in reg.claims if c.rule != "not-checkable"]
        assert len(measured) >= len(reg.claims) / 2
