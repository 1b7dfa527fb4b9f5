"""Page 9's figures (CPU vs GPU): the throughput sweep by batch size and the race of samples trained.

Presentation only, every function takes what it draws as arguments: the numbers come from labs.ch09_gpu
(rate_table of each sweep, race).
"""
import math

import ui
from ui import figspec

# line style by where a sweep comes from (labs.ch09_gpu.measured_series / model_series)
DASH = {"measured": "solid", "reference GPU": "dash", "reference CPU": "dot", "model": "dashdot"}


def throughput_figure(curves, title, unit, lesson_batch=64):
    """Rate by batch size on log-log axes, one line per curve = (label, {batch: rate}, source), coloured in
    order of the palette; a dotted line marks the lesson's batch. Plain dicts (ui.figspec): built with go.Figure,
    add_scatter, add_vline and update_* it cost ~6 ms per rerun."""
    data = [dict(type="scatter", x=list(rates), y=list(rates.values()), mode="lines+markers", name=label,
                 line=dict(dash=DASH[source], width=3, color=ui.PALETTE[i % len(ui.PALETTE)]))
            for i, (label, rates, source) in enumerate(curves)]
    lesson, _ = figspec.vline(lesson_batch, color=ui.COLORS["neutral"], dash="dot")
    # (annotations on a log axis are placed by log10 of the value)
    note = dict(x=math.log10(lesson_batch), y=1, yref="paper", text=f"the lesson's batch of {lesson_batch}",
                showarrow=False, xanchor="left", yanchor="top", font=dict(color=ui.COLORS["neutral"]))
    return figspec.figure(data, title=dict(text=title), shapes=[lesson], annotations=[note], height=420,
                          xaxis=figspec.log_axis(title=dict(text="batch size B")),
                          yaxis=figspec.log_axis(title=dict(text=unit)),
                          legend=dict(orientation="h", y=-0.2))


def _bars(labels, counts, k):
    """Frame k of the race as one bar trace (a plain dict)."""
    return dict(type="bar", y=labels, x=[counts[lab][k] for lab in labels], orientation="h",
                text=[f"{counts[lab][k]:,}" for lab in labels], textposition="outside",
                marker=dict(color=[ui.PALETTE[i % len(ui.PALETTE)] for i in range(len(labels))]))


def race_figure(times, counts):
    """Horizontal bars of samples trained, one frame per time in `times` (seconds), with Play / Pause and a
    scrubber; counts = {label: [samples trained at each time]}.

    Plain dicts (ui.figspec): with go.Bar / go.Frame objects and update_layout the same figure cost ~40 ms of
    server time on every rerun (42 frames), as one go.Figure constructor of dicts ~8-14 ms, as dicts alone
    ~0.1 ms (tests/pages/test_ui_figures.py compares them)."""
    labels = list(counts)
    top = max(c[-1] for c in counts.values()) * 1.15 + 1
    layout = dict(
        height=260 + 50 * len(labels), xaxis=dict(range=[0, top], title=dict(text="samples trained")),
        yaxis=dict(autorange="reversed", domain=[0.45, 1]), showlegend=False,  # the lower part holds the controls
        updatemenus=[dict(type="buttons", direction="left", x=0, y=0.22, xanchor="left", yanchor="top", buttons=[
            dict(label="Play", method="animate", args=[None, dict(frame=dict(duration=100, redraw=True),
                                                                  fromcurrent=True, transition=dict(duration=0))]),
            dict(label="Pause", method="animate", args=[[None], dict(mode="immediate", frame=dict(duration=0))])])],
        sliders=[dict(active=0, x=0.18, len=0.82, y=0.3, yanchor="top", currentvalue=dict(prefix="elapsed: "),
                      steps=[dict(label=f"{t * 1e3:.1f} ms", method="animate",
                                  args=[[str(k)], dict(mode="immediate", frame=dict(duration=0, redraw=True))])
                             for k, t in enumerate(times)])],
    )
    return {**figspec.figure([_bars(labels, counts, 0)], **layout),
            "frames": [dict(data=[_bars(labels, counts, k)], name=str(k)) for k in range(len(times))]}
