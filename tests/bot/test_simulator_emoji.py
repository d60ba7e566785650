"""The simulator's page shows emoji shortcodes as Slack does: every shortcode the product's
messages use has its Unicode emoji in the page's table (bot/simulator/static/emoji.json)."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "bot/simulator/static/emoji.json"
# `:name:` followed by a space, as a message uses it, or an icon on its own (`(":x:", "denied")`);
# not `":memory:"` nor a message key like `":approver:" in key`.
SHORTCODE = re.compile(r"(?<![\w:]):([a-z0-9_+-]+):(?=\s)|[\"']:([a-z0-9_+-]+):[\"'],")
SOURCES = [
    *sorted((ROOT / "catalog/templates").glob("*.j2")),
    *sorted((ROOT / "bot").rglob("*.py")),
    *sorted((ROOT / "workflows").glob("*.py")),
    *sorted((ROOT / "catalog").glob("*.py")),
]


def used_shortcodes() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in SOURCES:
        for in_text, icon in SHORTCODE.findall(path.read_text(encoding="utf-8")):
            found.setdefault(in_text or icon, str(path.relative_to(ROOT)))
    return found


def test_every_shortcode_the_product_uses_has_its_emoji() -> None:
    table = json.loads(TABLE.read_text(encoding="utf-8"))
    used = used_shortcodes()
    assert {"white_check_mark", "pencil2", "zzz", "arrow_right", "hourglass_flowing_sand"} <= used.keys()
    missing = {name: where for name, where in used.items() if name not in table}
    assert not missing, f"shortcodes with no emoji in {TABLE.name}: {missing}"


def test_the_table_maps_names_to_emoji_only() -> None:
    table = json.loads(TABLE.read_text(encoding="utf-8"))
    assert len(table) >= 150  # the product's own plus a common set
    for name, emoji in table.items():
        assert re.fullmatch(r"[a-z0-9_+-]+", name), name
        assert emoji and any(ord(c) > 127 for c in emoji), (name, emoji)
