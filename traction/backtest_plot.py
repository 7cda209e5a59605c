"""The backtest as a picture: per as-of day, each ranking's Spearman with what followed,
and how many of its top models changed. SVG written by hand (no plotting dependency);
PNG through matplotlib when it is installed."""

from __future__ import annotations

from html import escape
from pathlib import Path

from .config import ConfigError

WIDTH, PANEL, MARGIN = 900, 260, 60
# traction first and bold; baselines in muted colours; random dashed.
COLOURS = ["#d62728", "#9467bd", "#1f77b4", "#2ca02c", "#17becf", "#ff7f0e", "#8c564b", "#7f7f7f"]


def _series(result: dict) -> tuple[str, list[str], dict[str, list], dict[str, list]]:
    """(horizon, days, Spearman per ranking, turnover per ranking), for the first horizon."""
    horizon, block = next(iter(result["horizons"].items()))
    days = sorted(result["turnover"][result["rankings"][0]]["per_day"])
    spearman = {
        name: [block["per_day"][name].get(d, {}).get("spearman.composite") for d in days]
        for name in result["rankings"]
    }
    turnover = {name: [result["turnover"][name]["per_day"][d] for d in days] for name in spearman}
    return horizon, days, spearman, turnover


def _panel(
    top: int, title: str, days: list[str], lines: dict[str, list], low: float, high: float
) -> list[str]:
    inner = WIDTH - 2 * MARGIN
    step = inner / max(1, len(days) - 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        y = top + PANEL - (v - low) / (high - low or 1) * PANEL
        return MARGIN + i * step, y

    out = [
        f'<text x="{MARGIN}" y="{top - 10}" font-size="14" font-weight="bold">'
        f"{escape(title)}</text>",
        f'<rect x="{MARGIN}" y="{top}" width="{inner}" height="{PANEL}" fill="none"'
        ' stroke="#ccc"/>',
    ]
    for tick in range(5):
        value = low + (high - low) * tick / 4
        _, y = xy(0, value)
        out.append(
            f'<line x1="{MARGIN}" x2="{MARGIN + inner}" y1="{y:.1f}" y2="{y:.1f}"'
            ' stroke="#eee"/>'
            f'<text x="{MARGIN - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">'
            f"{value:.2f}</text>"
        )
    for i, day in enumerate(days):
        if i % max(1, len(days) // 8) == 0:
            x, _ = xy(i, low)
            out.append(
                f'<text x="{x:.1f}" y="{top + PANEL + 16}" font-size="11"'
                f' text-anchor="middle">{escape(day[5:])}</text>'
            )
    for n, (name, values) in enumerate(lines.items()):
        colour = COLOURS[n % len(COLOURS)]
        points = [xy(i, v) for i, v in enumerate(values) if v is not None]
        if not points:
            continue
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        width = 3 if n == 0 else 1.5
        dash = ' stroke-dasharray="4 3"' if name == "random" else ""
        out.append(
            f'<polyline points="{path}" fill="none" stroke="{colour}"'
            f' stroke-width="{width}"{dash}><title>{escape(name)}</title></polyline>'
        )
    return out


def render_svg(result: dict) -> str:
    horizon, days, spearman, turnover = _series(result)
    values = [v for vs in spearman.values() for v in vs if v is not None]
    low = min([0.0, *values])
    high = max([1.0, *values])
    most = max([1.0, *[v for vs in turnover.values() for v in vs if v is not None]])
    legend_top = 2 * PANEL + 150
    height = legend_top + 20 * len(spearman) + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}"'
        ' font-family="sans-serif">',
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
        *_panel(
            40,
            f"Spearman with the next {horizon} days' adoption (composite), per as-of day",
            days,
            spearman,
            low,
            high,
        ),
        *_panel(
            PANEL + 110,
            f"top-{result['turnover_top']} models new since the day before",
            days,
            turnover,
            0.0,
            most,
        ),
    ]
    for n, name in enumerate(spearman):
        y = legend_top + 20 * n
        parts.append(
            f'<line x1="{MARGIN}" x2="{MARGIN + 30}" y1="{y}" y2="{y}"'
            f' stroke="{COLOURS[n % len(COLOURS)]}" stroke-width="{3 if n == 0 else 1.5}"/>'
            f'<text x="{MARGIN + 40}" y="{y + 4}" font-size="12">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def write_plot(result: dict, path: Path) -> None:
    if path.suffix.lower() == ".png":
        _write_png(result, path)
        return
    path.write_text(render_svg(result), encoding="utf-8")


def _write_png(result: dict, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError(
            f"--plot {path}: PNG needs matplotlib (pip install matplotlib); .svg needs nothing"
        ) from None
    from datetime import date

    horizon, days, spearman, turnover = _series(result)
    x = [date.fromisoformat(d) for d in days]  # real dates: no categorical axis

    def y(values: list) -> list[float]:
        return [float("nan") if v is None else v for v in values]

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    for n, name in enumerate(spearman):
        style = {"linewidth": 3 if n == 0 else 1.2, "color": COLOURS[n % len(COLOURS)]}
        top.plot(x, y(spearman[name]), label=name, **style)
        bottom.plot(x, y(turnover[name]), **style)
    top.set_title(f"Spearman with the next {horizon} days' adoption (composite)")
    bottom.set_title(f"top-{result['turnover_top']} models new since the day before")
    top.legend(fontsize=8)
    fig.autofmt_xdate()
    fig.savefig(path, dpi=100)
    plt.close(fig)
