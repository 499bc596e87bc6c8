"""Explainer responsiveness: server time per interaction, animation frame rates, Playground
training speed.

Each interaction is what happens on one slider move or click in the browser: the observer
recomputes the model and the new view data is serialised for the comm.  The baseline redraws
the same views the naive way (a matplotlib figure rendered to PNG), measured in the same
process, so the ratio stays meaningful on a busy machine.

Run: ``.venv/bin/python -m benchmarks explainers`` (``--quick`` for fewer samples).
Targets (issue 7): p95 under 30 ms per interaction; 30 fps for the Playground boundary on two
CPU cores; the Playground reaches a test loss under 0.1 on the spiral in under 10 s on CPU.
"""

import io
import itertools
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

import aiclass_explainers as ax
import matplotlib.pyplot as plt
import numpy as np
from aiclass_explainers.base import Explainer
from aiclass_explainers.explainers.pixels import PAD
from aiclass_explainers.explainers.playground import FRAME_TRAINING_S
from aiclass_explainers.views import GridView, SceneView

from benchmarks import argument_parser

#: The network a student can find for the spiral; the benchmark times it to test loss < 0.1.
SPIRAL_RECIPE = dict(dataset="spiral", features=["x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1",
                                                  "sinx2"],
                     hidden_layers=2, neurons=16, activation="tanh", learning_rate=0.03,
                     batch_size=25)


def chinese_matplotlib() -> None:
    """Give the baseline the CJK font a real notebook would need (fonts-noto-cjk)."""
    plt.rcParams["font.family"] = ["Noto Sans CJK SC", "DejaVu Sans"]
    warnings.filterwarnings("ignore", message="Glyph .* missing", category=UserWarning)
    warnings.filterwarnings("ignore", message="findfont", category=UserWarning)


def drawings() -> list[list[list[int]]]:
    one, seven = np.zeros((PAD, PAD), int), np.zeros((PAD, PAD), int)
    one[4:28, 14:18] = 1
    seven[4:8, 6:26] = 1
    for row in range(8, 28):
        seven[row, 24 - (row - 8) // 2: 28 - (row - 8) // 2] = 1
    return [one.tolist(), seven.tolist()]


def setter(target: Any, name: str, values: list) -> Callable[[], None]:
    """An interaction that sets ``target.name`` to the next value of ``values``, cycling."""
    cycle = itertools.cycle(values)
    return lambda: setattr(target, name, next(cycle))


def interactions() -> list[tuple[str, str, Explainer, Callable[[], None]]]:
    """(explainer id, what the student does, explainer, one interaction) at default sizes."""
    made = {entry.id: entry.create(predict_first=False) for entry in ax.catalog()}
    machine = made["teachable_machine"]
    machine.load_examples()
    machine.train()
    c = {key: explainer.controls for key, explainer in made.items()}
    rows = [
        ("pixels", "draw on the pad", made["pixels"].pad, "values", drawings()),
        ("rules_vs_learning", "threshold slider", c["rules_vs_learning"]["threshold"], "value",
         list(range(5, 80, 5))),
        ("teachable_machine", "draw -> live guess", machine.pad, "values", drawings()),
        ("knn", "k slider", c["knn"]["k"], "value", list(range(1, 16))),
        ("decision_tree", "depth slider", c["decision_tree"]["max_depth"], "value",
         list(range(1, 11))),
        ("gradient_descent", "learning-rate slider", c["gradient_descent"]["learning_rate"],
         "value", [0.001, 0.003, 0.01, 0.03]),
        ("perceptron_xor", "data toggle", c["perceptron_xor"]["dataset"], "value",
         ["and", "or", "xor"]),
        ("playground", "neurons slider", c["playground"]["neurons"], "value", list(range(1, 9))),
        ("playground", "learning-rate slider", c["playground"]["learning_rate"], "value",
         [0.003, 0.01, 0.03, 0.1]),
        ("overfitting", "degree slider", c["overfitting"]["degree"], "value", list(range(1, 16))),
        ("convolution", "kernel preset", c["convolution"]["preset"], "value",
         ["identity", "blur", "sharpen", "edges", "sobel_x", "sobel_y"]),
        ("convolution", "hover an output cell", made["convolution"].result, "hover",
         [[r, (r * 7) % 38] for r in range(38)]),
        ("bias_lab", "share slider", c["bias_lab"]["group_b_share"], "value",
         [round(v, 2) for v in np.arange(0, 0.51, 0.05)]),
    ]
    result = [(key, what, made[key], setter(target, name, values))
              for key, what, target, name, values in rows]
    maze = made["maze_search"]
    result.append(("maze_search", "step button", maze,
                   lambda: c["maze_search"]["step"].click() if not maze.finished
                   else maze.restart()))
    result.insert(4, ("kmeans", "step button", made["kmeans"],
                      lambda: c["kmeans"]["step"].click() if not made["kmeans"].converged
                      else made["kmeans"].restart()))
    return result


def matplotlib_redraw(explainer: Explainer) -> bytes:
    """The naive way to show the same views: one matplotlib figure per view, saved as PNG."""
    out = io.BytesIO()
    for view in explainer.views:
        fig, axes = plt.subplots(figsize=(4, 4), dpi=80)
        if isinstance(view, SceneView):
            if view.heatmap:
                axes.imshow(view.heat_array(), extent=[*view.xlim, *view.ylim], cmap="coolwarm",
                            alpha=0.5)
            for line in view.lines:
                axes.plot(line["x"], line["y"], color=line.get("color", "#333"))
            for x0, y0, x1, y1, color, _alpha in view.rects:
                axes.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, color=color))
            if view.points:
                points = np.asarray([p[:3] for p in view.points], dtype=float)
                axes.scatter(points[:, 0], points[:, 1], c=points[:, 2], cmap="tab10", s=12)
            axes.set_xlim(view.xlim)
            axes.set_ylim(view.ylim)
            axes.set_title(view.title)
        elif isinstance(view, GridView):
            values = view.array()
            axes.imshow(values, cmap="gray_r")
            if view.show_numbers and values.size <= 100:
                for (r, col), value in np.ndenumerate(values):
                    axes.text(col, r, f"{value:.0f}", ha="center", va="center", fontsize=7)
        fig.savefig(out, format="png")
        plt.close(fig)
    return out.getvalue()


def timed(action: Callable[[], Any], samples: int) -> list[float]:
    """Milliseconds of ``samples`` calls of ``action``."""
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return times


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def fps(action: Callable[[], Any], seconds: float) -> float:
    """How many times per second ``action`` completes, over ``seconds``."""
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        action()
        count += 1
    return count / (time.perf_counter() - start)


def spiral_time(limit_s: float = 60.0) -> tuple[float, int, float]:
    """Seconds (and epochs) for the spiral recipe to reach test loss < 0.1, redrawing each epoch."""
    playground = ax.create("playground", predict_first=False, **SPIRAL_RECIPE)
    start = time.perf_counter()
    while playground.test_loss >= 0.1 and time.perf_counter() - start < limit_s:
        playground.step()
    return time.perf_counter() - start, playground.epoch, playground.test_loss


def main(argv: list[str] | None = None) -> dict:
    parser = argument_parser(__name__, __doc__)
    parser.add_argument("--quick", action="store_true", help="fewer samples (CI smoke run)")
    args = parser.parse_args(argv)
    chinese_matplotlib()
    samples, baseline_samples, seconds = (10, 3, 1.0) if args.quick else (40, 10, 3.0)

    print("Server-side time per interaction (ms); baseline = naive matplotlib redraw, "
          "same views, same process")
    header = (f"{'explainer':<18} {'interaction':<22} {'p50':>7} {'p95':>7} "
              f"{'baseline p50':>13} {'speed-up':>9}  p95<30ms")
    print(header)
    print("-" * len(header))
    report: dict[str, Any] = {"interactions": [], "fps": {}, "spiral": {}}
    for key, what, explainer, action in interactions():
        action()  # warm caches (fitted models, imports)
        ours = timed(action, samples)
        baseline = timed(lambda a=action, e=explainer: (a(), matplotlib_redraw(e)),
                         baseline_samples)
        p50, p95, base = percentile(ours, 50), percentile(ours, 95), statistics.median(baseline)
        report["interactions"].append({"explainer": key, "interaction": what, "p50_ms": p50,
                                       "p95_ms": p95, "baseline_p50_ms": base})
        print(f"{key:<18} {what:<22} {p50:7.2f} {p95:7.2f} {base:13.1f} {base / p50:8.1f}x  "
              f"{'yes' if p95 < 30 else 'NO'}")

    print("\nAnimation frames per second (server side; target 30 for the Playground)")
    playground = ax.create("playground", predict_first=False)
    kmeans = ax.create("kmeans", predict_first=False)
    gd = ax.create("gradient_descent", predict_first=False, learning_rate=0.001)
    perceptron = ax.create("perceptron_xor", predict_first=False, max_epochs=2000)
    animated = {
        "playground boundary redraw (100x100)": playground.refresh,
        "playground frame (train 20 ms + redraw)":
            lambda: (playground.train_for(FRAME_TRAINING_S), playground.refresh()),
        "playground one full epoch + redraw": playground.step,
        "kmeans step": lambda: kmeans.step() if not kmeans.converged else kmeans.restart(),
        "gradient_descent step": lambda: gd.run(1),
        "perceptron_xor epoch": lambda: perceptron.train(1),
    }
    baseline_fps = fps(lambda: (playground.refresh(), matplotlib_redraw(playground)), seconds)
    for name, action in animated.items():
        rate = fps(action, seconds)
        report["fps"][name] = rate
        print(f"{name:<40} {rate:8.1f} fps")
    boundary = report["fps"]["playground boundary redraw (100x100)"]
    print(f"{'baseline: playground + matplotlib redraw':<40} {baseline_fps:8.1f} fps "
          f"(boundary speed-up {boundary / baseline_fps:.1f}x)")

    seconds_taken, epochs, loss = spiral_time()
    report["spiral"] = {"seconds": seconds_taken, "epochs": epochs, "test_loss": loss}
    print(f"\nPlayground spiral to test loss < 0.1 ({SPIRAL_RECIPE['hidden_layers']}x"
          f"{SPIRAL_RECIPE['neurons']} {SPIRAL_RECIPE['activation']}, all features, redrawn "
          f"every epoch, device {playground.device.type}): {seconds_taken:.2f} s, {epochs} "
          f"epochs, test loss {loss:.3f}  (target < 10 s: "
          f"{'yes' if loss < 0.1 and seconds_taken < 10 else 'NO'})")
    return report
