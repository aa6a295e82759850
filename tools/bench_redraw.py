"""Print the explorers' redraw times measured in the browser by tests/test_browser.py.

The test writes .bench/browser_redraw.json (seconds from a widget change, by keyboard or
click, to the explorer's new output with the kernel idle). Timings are reported, never
asserted: shared machines are noisy.
"""

import json
import sys
from pathlib import Path

PATH = Path(__file__).resolve().parents[1] / ".bench" / "browser_redraw.json"


def main() -> int:
    if not PATH.exists():
        print(f"no {PATH.relative_to(PATH.parents[1])}: run the browser tests first "
              "(pytest tests/test_browser.py)")
        return 0
    records = json.loads(PATH.read_text())["redraws"]
    print(f"{'lecture':34} {'cell':>4}  {'control':36} {'action':18} {'seconds':>7}")
    for r in records:
        print(f"{Path(r['lecture']).stem:34} {r['cell']:>4}  {r['control'][:36]:36} {r['action'][:18]:18} {r['seconds']:7.2f}")
    if records:
        worst = max(records, key=lambda r: r["seconds"])
        print(f"slowest redraw: {worst['seconds']:.2f} s ({Path(worst['lecture']).stem}, {worst['control']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
