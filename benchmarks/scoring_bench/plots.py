"""PNG charts of a results document (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["render_plots"]

COLORS = {
    "pmmlserve": "#2b6cb0",
    "sklearn": "#dd6b20",
    "onnxruntime": "#718096",
    "jpmml": "#38a169",
    "pypmml": "#805ad5",
}


def _grouped_bars(ax, results: dict, value, label: str, fmt) -> None:
    """One group per model, one bar per engine; ``value(row)`` -> (height, whisker) or None."""
    models = list(results["models"])
    engines = list(results["engines"])
    width = 0.8 / max(len(engines), 1)
    top = 0.0
    for j, name in enumerate(engines):
        color = COLORS.get(name, "#999999")
        ax.bar(0, 0, 0, color=color, label=results["engines"][name]["label"])  # legend entry
        for i, key in enumerate(models):
            x = i + (j - (len(engines) - 1) / 2) * width
            got = value(results["models"][key]["engines"].get(name, {}))
            if got is None:
                # x in data units, y as a fraction of the axes: visible on any log scale
                ax.text(x, 0.03, "n/a", rotation=90, ha="center", va="bottom", fontsize=8,
                        color=color, transform=ax.get_xaxis_transform())
                continue
            height, whisker = got
            ax.bar(x, height, width, color=color)
            ax.text(x, height * 1.08, fmt(height), rotation=90, ha="center", va="bottom",
                    fontsize=7)
            top = max(top, height, whisker or 0)
            if whisker is not None:
                ax.plot([x - width / 3, x + width / 3], [whisker, whisker], color="black", lw=1)
    ax.set_xticks(range(len(models)))
    ax.set_xticklabels([results["models"][k]["title"].split("(")[0] for k in models])
    ax.set_yscale("log")
    if top > 0:
        ax.set_ylim(top=top * 8)  # room for the value labels
    ax.set_ylabel(label)
    ax.grid(axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncols=len(engines),
              frameon=False)


def _latency(row):
    lat = row.get("latency_us", {})
    return (lat["median"], lat["p99"]) if "median" in lat else None


def _throughput(row):
    bat = row.get("batch_s", {})
    return (bat["rows_per_s"], None) if "rows_per_s" in bat else None


def _short_us(us: float) -> str:
    if us >= 1e6:
        return f"{us / 1e6:.3g} s"
    if us >= 1e3:
        return f"{us / 1e3:.3g} ms"
    return f"{us:.3g} µs"


def _short_rate(rate: float) -> str:
    if rate >= 1e6:
        return f"{rate / 1e6:.3g}M/s"
    if rate >= 1e3:
        return f"{rate / 1e3:.3g}k/s"
    return f"{rate:.3g}/s"


def render_plots(results: dict, img_dir: Path) -> list[Path]:
    """Write latency.png and batch.png into ``img_dir``; return their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    img_dir.mkdir(parents=True, exist_ok=True)
    quick = " (quick smoke run)" if results["settings"].get("quick") else ""
    written = []
    charts = [
        ("latency.png", _latency, "one-record latency, µs (log)",
         f"Single-record latency: median bar (value), p99 tick{quick}", _short_us),
        ("batch.png", _throughput, "rows per second (log)",
         f"Batch of {results['settings']['batch_rows']:,} rows: throughput{quick}", _short_rate),
    ]
    for filename, value, ylabel, title, fmt in charts:
        fig, ax = plt.subplots(figsize=(9, 5), dpi=100)
        _grouped_bars(ax, results, value, ylabel, fmt)
        ax.set_title(title, fontsize=11)
        fig.tight_layout()
        path = img_dir / filename
        fig.savefig(path)
        plt.close(fig)
        written.append(path)
    return written
