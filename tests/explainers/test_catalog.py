"""The catalogue, options, language and the views' wire format."""

import re
from pathlib import Path

import aiclass_explainers as ax
import ipywidgets as w
import numpy as np
import pytest
from aiclass_explainers.views import GridView, SceneView
from ipywidgets.widgets.widget import _remove_buffers
from traitlets import TraitError

REQUIRED = {"pixels", "rules_vs_learning", "teachable_machine", "knn", "kmeans", "decision_tree",
            "gradient_descent", "perceptron_xor", "playground", "overfitting", "convolution",
            "bias_lab"}
CJK = re.compile(r"[\u4e00-\u9fff]")


def visible_text(widget: w.Widget) -> list[str]:
    """Every string a student can read in a widget tree (labels, HTML, options, view titles)."""
    texts: list[str] = []
    for name in ("description", "placeholder", "title", "xlabel", "ylabel"):
        value = getattr(widget, name, "")
        if isinstance(value, str) and value:
            texts.append(value)
    if isinstance(widget, w.HTML | w.Label):
        texts.append(re.sub(r"<[^>]+>", " ", widget.value))
    if isinstance(widget, w.Dropdown | w.ToggleButtons):
        texts += [label for label in widget._options_labels]
    if isinstance(widget, SceneView):
        texts += [label[2] for label in widget.labels]
    if isinstance(widget, GridView):
        texts += [str(label) for label in widget.row_labels]
    for child in getattr(widget, "children", ()):
        texts += visible_text(child)
    return texts


def test_catalog_lists_every_required_explainer_with_metadata():
    entries = {entry.id: entry for entry in ax.catalog()}
    assert REQUIRED <= set(entries)
    for entry in entries.values():
        assert CJK.search(entry.title_zh) and entry.title_en and not CJK.search(entry.title_en)
        assert entry.grade_band in {"primary", "junior", "senior", "teacher"}
        assert CJK.search(entry.module_zh) and entry.module_en
        assert entry.factory.prompt_zh and entry.factory.prompt_en
        assert entry.factory.task_zh and entry.factory.task_en
        assert "seed" in entry.options


def test_create_returns_explainer_with_widget_and_show_displays_it(capsys):
    knn = ax.create("knn", k=4)
    assert knn.k == 4 and knn.controls["k"].value == 4
    assert isinstance(knn.widget, w.VBox)
    assert repr(knn) == "<knn: k 近邻：看看你的邻居>"  # no second copy of the widget
    shown = ax.show("overfitting", degree=5)
    assert shown.degree == 5
    assert "VBox" in capsys.readouterr().out


def test_unknown_id_and_option_get_clear_chinese_errors():
    with pytest.raises(KeyError, match="没有叫 'nope' 的解释器.*knn"):
        ax.create("nope")
    with pytest.raises(ValueError, match="没有选项 colour.*k"):
        ax.create("knn", colour="red")
    with pytest.raises(TraitError, match="选项 k 必须在 1 到 15 之间，收到的是 0"):
        ax.create("knn", k=0)
    with pytest.raises(TraitError, match="选项 dataset 只能是"):
        ax.create("playground", dataset="moon")
    knn = ax.create("knn")
    with pytest.raises(TraitError, match="需要一个整数"):
        knn.k = "three"
    assert knn.k == 1


def test_english_errors_after_set_language():
    ax.set_language("en")
    with pytest.raises(TraitError, match="Option k must be between 1 and 15; got 99"):
        ax.create("knn", k=99)
    with pytest.raises(ValueError, match="unsupported language"):
        ax.set_language("fr")


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_visible_string_is_in_the_chosen_language(language):
    ax.set_language(language)
    for entry in ax.catalog():
        explainer = entry.create(predict_first=False)
        texts = visible_text(explainer.widget)
        assert len(texts) > 5, entry.id
        joined = " ".join(texts)
        if language == "en":
            assert not CJK.search(joined), (entry.id, CJK.findall(joined)[:10], joined[:300])
        else:
            assert CJK.search(joined), entry.id


def test_predict_first_hides_the_play_area_until_the_student_commits():
    explainer = ax.create("knn")
    play = explainer.widget.children[2]
    assert play.layout.display == "none" and not explainer.predicted
    explainer.controls["prediction"].value = "会更平滑"
    explainer.controls["ready"].click()
    assert explainer.predicted and play.layout.display is None
    assert explainer.prediction == "会更平滑"


def test_scene_heatmap_travels_as_compact_binary_buffer():
    scene = SceneView()
    heat = np.linspace(0, 1, 100 * 100, dtype=np.float32).reshape(100, 100)
    scene.update(heat=heat)
    assert scene.frame == 1 and scene.heatmap_mode == "diverging"
    assert scene.heat_array()[0, 0] == 0 and scene.heat_array()[-1, -1] == 255
    state, _paths, buffers = _remove_buffers(scene.get_state())
    assert "heatmap" not in state and sum(len(b) for b in buffers) == 10_000
    scene.update(heat=np.full((4, 5), 2, dtype=np.int64))
    assert scene.heatmap_mode == "classes" and scene.heatmap_shape == [4, 5]


def test_views_ship_their_javascript_inside_the_package():
    static = Path(ax.__file__).parent / "static"
    for name in ("scene.js", "grid.js"):
        source = (static / name).read_text()
        assert "export default" in source
        assert "http://" not in source and "https://" not in source and "import " not in source
