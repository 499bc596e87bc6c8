"""Drive every explainer the way a student does (set control values, click buttons, click and
drag on views) and check the model and the view data change as they should."""

import asyncio
import time

import aiclass_explainers as ax
import numpy as np
import pytest
from aiclass_explainers.datasets import digits
from aiclass_explainers.explainers.convolution import format_number
from aiclass_explainers.explainers.pixels import PAD
from traitlets import TraitError


def test_pixels_drawing_becomes_eight_by_eight_numbers():
    pixels = ax.create("pixels", predict_first=False)
    pad = np.zeros((PAD, PAD), int)
    pad[4:28, 13:17] = 1  # a vertical stroke: a "1"
    pixels.pad.values = pad.tolist()
    values = np.array(pixels.values)
    assert values.shape == (8, 8) and values.max() <= 16
    assert values[:, 3:5].sum() == pixels.ink_total == pad.sum()
    assert values[:, :3].sum() == 0
    assert pixels.numbers.values == values.tolist() and pixels.numbers.highlight
    pixels.controls["load"].click()
    assert pixels.sample == 0
    assert np.array_equal(pixels.values, digits()[0][0])
    assert "标签是 0" in pixels.status.value
    pixels.controls["clear"].click()
    assert pixels.ink_total == 0 and pixels.sample == -1


def test_rules_vs_learning_threshold_changes_rule_accuracy():
    rules = ax.create("rules_vs_learning", predict_first=False)
    slider = rules.controls["threshold"]
    scores = {}
    for value in np.linspace(0, slider.max, 25):
        slider.value = float(value)
        scores[float(value)] = rules.rule_accuracy
        assert rules.histogram.lines[0]["x"] == [slider.value, slider.value]
    assert max(scores.values()) >= 0.9 > min(scores.values())
    assert rules.learned_accuracy >= 0.95
    rules.controls["pair"].value = "3-8"
    rules.controls["feature"].value = "width"
    assert rules.pair == "3-8" and rules.threshold <= slider.max
    assert 0 < rules.learned_accuracy <= 1 and rules.weights.values


def test_teachable_machine_collects_trains_and_reports_confusion():
    machine = ax.create("teachable_machine", predict_first=False, seed=1)
    machine.controls["train"].click()
    assert "至少要 2 个样本" in machine.status.value and not machine.trained
    with pytest.raises(ValueError, match="圆"):
        machine.train()
    machine.controls["examples"].click()
    assert machine.sample_counts == [20, 20] and machine.class_names[:2] == ["0", "1"]
    machine.controls["train"].click()
    assert machine.trained and machine.accuracy >= 0.9
    assert np.asarray(machine.confusion).sum() == 40
    assert machine.matrix.values == machine.confusion
    one = np.zeros((PAD, PAD), int)
    one[3:29, 14:18] = 1
    machine.pad.values = one.tolist()
    assert machine.guess == "1"
    machine.add_buttons[1].click()  # the drawing becomes one more "1"
    assert machine.sample_counts == [20, 21] and not machine.trained
    assert np.asarray(machine.pad.values).sum() == 0


def test_knn_k_slider_and_clicks_reshape_the_boundary():
    knn = ax.create("knn", predict_first=False, seed=3)
    start = knn.scene.heat_array().copy()
    frame = knn.scene.frame
    n = len(knn.points)
    blue = np.asarray([p for p in knn.points if p[2] == 0])[:, :2].mean(axis=0)
    knn.controls["brush_class"].value = 1
    knn.scene.click(*blue)  # an orange point in the middle of the blue clump
    assert len(knn.points) == n + 1 and knn.points[-1][2] == 1
    island = knn.predict(np.asarray([blue + 0.01]))[0]
    assert island == 1 and knn.scene.frame > frame
    knn.controls["k"].value = 15
    assert knn.k == 15 and knn.predict(np.asarray([blue + 0.01]))[0] == 0
    assert (knn.scene.heat_array() != start).any() and knn.boundary_changes >= 1
    knn.controls["undo"].click()
    assert len(knn.points) == n


def test_kmeans_steps_to_convergence_and_bad_start_is_worse():
    finals = {}
    for init in ("kmeans++", "bad"):
        kmeans = ax.create("kmeans", predict_first=False, init=init, seed=0)
        inertias = []
        for _ in range(60):
            kmeans.controls["step"].click()
            if kmeans.phase == "assign":
                inertias.append(kmeans.inertia)
            if kmeans.converged:
                break
        assert kmeans.converged, init
        assert all(b <= a + 1e-6 for a, b in zip(inertias, inertias[1:], strict=False))
        assert len(kmeans.scene.points) == kmeans.n_points + kmeans.k
        finals[init] = kmeans.inertia
    assert finals["bad"] > finals["kmeans++"] * 1.5
    kmeans.controls["k"].value = 4
    assert kmeans.iteration == 0 and len(kmeans.centroids) == 4


def test_decision_tree_depth_grows_tree_and_regions():
    tree = ax.create("decision_tree", predict_first=False)
    tree.controls["max_depth"].value = 1
    shallow = (tree.n_leaves, tree.train_accuracy, tree.scene.heat_array().copy())
    assert shallow[0] == 2 and tree.tree_view.value.count("<circle") == 2
    tree.controls["max_depth"].value = 8
    assert tree.n_leaves > 8 and tree.train_accuracy > shallow[1]
    assert (tree.scene.heat_array() != shallow[2]).any()
    assert "<svg" in tree.tree_view.value and tree.tree_view.value.count("<rect") >= 7
    tree.controls["dataset"].value = "circle"
    assert tree.dataset == "circle" and 0.5 < tree.test_accuracy <= 1


def test_gradient_descent_converges_or_diverges_with_the_learning_rate():
    gd = ax.create("gradient_descent", predict_first=False)
    gd.controls["learning_rate"].value = 0.01
    start = gd.loss
    gd.run(300)
    assert gd.loss < start / 10 and not gd.diverged and 1 < gd.w < 3
    assert gd.curve.lines[0]["y"][-1] < gd.curve.lines[0]["y"][0]
    gd.controls["learning_rate"].value = 0.05
    assert gd.steps == 0  # a new learning rate starts the line again
    gd.run(100)
    assert gd.diverged and "发散" in gd.status.value and gd.steps < 100
    before = gd.points[0]
    gd.scene.drag(0, 5.0, 20.0)
    assert gd.points[0] == [5.0, 20.0] != before and gd.steps == 0 and not gd.diverged


def test_perceptron_learns_and_or_but_not_xor():
    perceptron = ax.create("perceptron_xor", predict_first=False, dataset="and")
    perceptron.train(50)
    assert perceptron.converged and perceptron.epoch < 50
    perceptron.controls["dataset"].value = "xor"
    perceptron.train(100)
    assert not perceptron.converged and perceptron.errors >= 10
    assert "分不开异或" in perceptron.status.value
    perceptron.controls["hidden_layer"].value = True
    perceptron.train(300)
    assert perceptron.converged


def test_playground_controls_rebuild_and_training_lowers_test_loss():
    playground = ax.create("playground", predict_first=False, dataset="circle")
    assert playground.scene.heatmap_shape == [100, 100]
    playground.feature_boxes["x1sq"].value = True
    playground.feature_boxes["x2sq"].value = True
    assert playground.features == ["x1", "x2", "x1sq", "x2sq"]
    assert playground.network[0].in_features == 4
    playground.controls["hidden_layers"].value = 1
    playground.controls["neurons"].value = 3
    assert len(playground.network) == 3 and playground.network[0].out_features == 3
    first = playground.scene.heat_array().copy()
    start = playground.test_loss
    for _ in range(25):
        playground.controls["step"].click()
    assert playground.epoch == 25 and playground.test_loss < min(0.2, start)
    assert (playground.scene.heat_array() != first).any()
    assert len(playground.curve.lines[1]["y"]) == 26
    assert playground.curve.lines[1]["x"][-1] == 25
    playground.controls["dataset"].value = "xor"
    assert playground.epoch == 0 and len(playground.scene.points) == 500
    with pytest.raises(TraitError, match="输入特征"):
        playground.features = []


def test_playground_is_seeded():
    runs = []
    for _ in range(2):
        playground = ax.create("playground", dataset="spiral", seed=5)
        playground.train(3)
        runs.append(playground.test_loss)
    assert runs[0] == runs[1]


async def test_playground_animation_runs_without_blocking_the_loop():
    playground = ax.create("playground", predict_first=False)
    frame = playground.scene.frame
    gaps: list[float] = []
    seen: list[int] = []

    async def other_work():
        """Stands for the kernel handling slider messages while the network trains."""
        last = time.perf_counter()
        for _ in range(20):
            await asyncio.sleep(0.05)
            gaps.append(time.perf_counter() - last - 0.05)
            seen.append(playground.scene.frame)
            last = time.perf_counter()

    playground.controls["play"].value = True
    assert playground.playing and playground.animator.running
    await other_work()
    playground.controls["play"].value = False
    await asyncio.sleep(0.05)
    assert not playground.animator.running and len(playground.history) >= 4
    assert playground.history[-1][0] > 0  # training progressed between frames
    assert playground.scene.frame >= frame + 3
    # Frames and other work took turns: the frame moved on between the other work's steps.
    assert len(set(seen)) >= 2, seen
    # No frame held the loop for long. The margin is for a busy 2-core machine; a frame that
    # trained without yielding would hold it for the whole run, far longer.
    assert max(gaps) < 10.0, gaps


def test_play_outside_a_kernel_explains_how_to_step():
    kmeans = ax.create("kmeans", predict_first=False)
    with pytest.raises(RuntimeError, match="step"):
        kmeans.controls["play"].value = True
    assert not kmeans.playing


def test_overfitting_high_degree_fits_training_but_not_test():
    fit = ax.create("overfitting", predict_first=False)
    fit.controls["degree"].value = 1
    low = (fit.train_error, fit.test_error)
    fit.controls["degree"].value = 14
    assert fit.train_error < low[0] and fit.test_error > fit.curve[fit.best_degree - 1][1]
    assert 3 <= fit.best_degree <= 9
    assert fit.scene.lines[1]["color"] == "#d62728" and len(fit.scene.lines[1]["x"]) == 200
    fit.controls["n_points"].value = 60
    assert len([p for p in fit.scene.points if p[3] == 0]) == 60


def test_convolution_kernel_stride_padding_and_hover_arithmetic():
    conv = ax.create("convolution", predict_first=False)
    conv.controls["preset"].value = "identity"
    image = conv.picture()
    assert np.allclose(conv.output, image[1:-1, 1:-1]) and conv.output_shape == [38, 38]
    conv.controls["stride"].value = 2
    assert conv.output_shape == [19, 19]
    conv.controls["padding"].value = 1
    assert conv.output_shape == [20, 20] and len(conv.source.values) == 42
    conv.controls["stride"].value = 1
    conv.cells[1][1].value = 2.0
    assert conv.preset == "custom" and np.allclose(conv.output, 2 * image)
    conv.result.hover = [5, 7]
    assert conv.hover_cell == [5, 7]
    assert conv.arithmetic.endswith(f"= {format_number(conv.output[5, 7])}")
    assert conv.arithmetic.count("×") == 9
    assert conv.source.highlight == [[5, 7, 7, 9, "#d62728"]]
    conv.result.hover = [-1, -1]
    assert conv.arithmetic == "" and conv.source.highlight == []
    with pytest.raises(TraitError, match="3×3"):
        conv.kernel = [[1, 2], [3, 4]]


def test_bias_lab_share_of_group_b_drives_the_gap():
    lab = ax.create("bias_lab", predict_first=False)
    lab.controls["group_b_share"].value = 0.0
    assert lab.gap > 0.2 and lab.accuracy_b < lab.accuracy_a
    lab.controls["group_b_share"].value = 0.5
    assert lab.gap < 0.08
    assert lab.bars.rects[1][3] == pytest.approx(lab.accuracy_b)
    crosses = [p for p in lab.scene.points if p[3] == 3]
    assert len(crosses) == 100


def test_maze_search_astar_finds_the_same_path_looking_at_fewer_cells():
    maze = ax.create("maze_search", predict_first=False)
    maze.controls["step"].click()
    assert maze.expanded == 1 and not maze.finished
    maze.controls["finish"].click()
    bfs = (maze.expanded, maze.path_length)
    assert maze.finished and "找到了" in maze.status.value
    assert len([h for h in maze.board.highlight if h[4] == "#d62728"]) == bfs[1] + 1
    maze.controls["algorithm"].value = "astar"
    assert maze.expanded == 0
    maze.run()
    assert maze.path_length == bfs[1] and maze.expanded < bfs[0]
    maze.controls["size"].value = 31
    assert len(maze.board.values) == 31 and not maze.finished
