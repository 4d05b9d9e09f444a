"""Result rendering numbers (printed, never asserted): chart PNG + vote-count minutes DOCX
for a 30-candidate vote, median and max over N runs (target: under 1.5 s for both together).

Run: .venv/bin/python bench/bench_render.py [N]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.i18n import use_locale  # noqa: E402
from bot.render.chart import render_chart  # noqa: E402
from bot.render.minutes import render_minutes  # noqa: E402
from tests.unit.test_render import make_sheet  # noqa: E402


def main(runs: int) -> None:
    names = [f"Trung tâm Y tế khu vực số {i + 1} thuộc Sở Y tế tỉnh Quảng Ninh" for i in range(30)]
    sheet = make_sheet(list(range(30, 0, -1)), issued=30, returned=30, valid=29, invalid=1, names=names)

    started = time.perf_counter()
    render_chart(sheet)
    render_minutes(sheet)
    print(f"first render (font and template loading): {time.perf_counter() - started:.3f} s")

    for locale in ("vi", "en"):
        chart, minutes, both = [], [], []
        with use_locale(locale):
            for _ in range(runs):
                t0 = time.perf_counter()
                png = render_chart(sheet)
                t1 = time.perf_counter()
                doc = render_minutes(sheet)
                t2 = time.perf_counter()
                chart.append(t1 - t0)
                minutes.append(t2 - t1)
                both.append(t2 - t0)
        print(f"[{locale}] 30 candidates, {runs} runs; PNG {len(png) // 1024} KiB, DOCX {len(doc) // 1024} KiB")
        for label, values in (("chart", chart), ("minutes", minutes), ("chart + minutes", both)):
            print(f"  {label:16s} median {statistics.median(values):.3f} s   max {max(values):.3f} s")
    print("target: chart + minutes under 1.5 s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
