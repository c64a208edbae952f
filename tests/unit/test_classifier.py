"""The two layers together, with the trained category model."""

import re
from collections import Counter

import numpy as np
import pytest

from services.classification.category_model import (
    CHUNK,
    MAX_CHARS,
    data_version,
    read_examples,
    training_examples,
    training_files,
)
from services.classification.classifier import Undecided


def test_noise_complaint_gets_its_matter_with_the_category_behind_it(classifier):
    decision = classifier.classify("月河社区楼下烧烤店每晚噪音扰民到凌晨两点，多次反映未解决")
    assert decision.matter.code == "ENV-NOISE-LIFE"
    assert decision.categories[0][0] == "环境保护"
    assert 0.5 < decision.confidence <= 1
    assert decision.rule.startswith("keywords:扰民; model:category-")


def test_probabilities_of_the_categories_sum_to_one(classifier):
    categories = classifier.categories("工地老板拖欠工资三个月不发")
    assert categories[0][0] == "劳动和社会保障"
    assert sum(p for _, p in categories) == pytest.approx(1, abs=1e-3)


def test_the_alternatives_are_offered(classifier):
    decision = classifier.classify("小区物业不管，电梯坏了，垃圾桶也满了")
    assert decision.alternatives
    assert decision.matter.code not in [code for code, _ in decision.alternatives]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "no Chinese"),
        ("   \n\t ", "no Chinese"),
        ("Hello, the street light outside my house is broken", "no Chinese"),
        ("😀😀😀🙏", "no Chinese"),
        ("我想表扬一下你们的工作人员态度很好", "no matter keyword"),
    ],
)
def test_text_with_nothing_sensible_to_say_is_undecided_with_a_reason(classifier, text, reason):
    with pytest.raises(Undecided, match=reason):
        classifier.classify(text)


def test_emoji_and_mixed_scripts_do_not_get_in_the_way(classifier):
    assert (
        classifier.classify("😀路灯不亮了 street light broken!!!").matter.code == "CITY-STREETLIGHT"
    )


def test_very_long_text_is_cut_and_flagged(classifier):
    text = "小区门口垃圾桶满了好几天没人清运。" + "的" * (MAX_CHARS * 50)
    decision = classifier.classify(text)
    assert decision.truncated is True
    assert decision.matter.code == "CITY-GARBAGE"


def test_fast_probabilities_agree_with_scikit_learn(classifier):
    texts = [
        "小区门口垃圾桶满了好几天没人清运",
        "工地老板拖欠工资三个月不发",
        "孩子上学难，学位紧张",
        "",
        "  \n\t  ",
        "Hello, the STREET light is Broken",
        "😀路灯不亮了 street light broken!!!\n\n\t第二行   多个空格",
        "小区门口垃圾桶满了。" + "的" * (MAX_CHARS * 2),
        "\ud83d孤立的代理字符",
    ]
    texts += [e.text for e in read_examples()[::40]]
    fast = classifier.model.probabilities(texts, classifier.segmenter)
    reference = classifier.model.probabilities_reference(texts, classifier.segmenter)
    assert fast.shape == reference.shape == (len(texts), len(classifier.model.classes))
    assert abs(fast - reference).max() < 1e-9


def test_fast_calibration_agrees_with_scikit_learn_beyond_the_fitted_scores(classifier):
    """Scores below, between and above those the isotonic calibrators were fitted on."""
    model = classifier.model
    calibrated = model.classifier.calibrated_classifiers_[0]
    low = min(float(c.X_min_) for c in calibrated.calibrators)
    high = max(float(c.X_max_) for c in calibrated.calibrators)
    rng = np.random.default_rng(7)
    decision = rng.uniform(low - 5, high + 5, size=(500, len(model.classes)))
    decision[0] = low - 100  # every class below its range
    decision[1] = high + 100
    reference = np.column_stack(
        [c.predict(decision[:, k]) for k, c in enumerate(calibrated.calibrators)]
    )
    total = reference.sum(axis=1, keepdims=True)
    uniform = np.full_like(reference, 1 / len(model.classes))
    reference = np.divide(reference, total, out=uniform, where=total != 0)
    fast = model.calibrated(decision)
    assert abs(fast - reference).max() < 1e-9
    assert np.allclose(fast.sum(axis=1), 1)


def test_many_texts_at_once_give_what_one_at_a_time_gives(classifier):
    texts = [
        "月河社区楼下烧烤店每晚噪音扰民到凌晨两点，多次反映未解决",
        "我想表扬一下你们的工作人员态度很好",
        "Hello",
        "小区物业不管，电梯坏了，垃圾桶也满了",
    ]
    for text, (categories, answer) in zip(texts, classifier.classify_many(texts), strict=True):
        assert categories == classifier.categories(text.strip())
        if isinstance(answer, Undecided):
            with pytest.raises(Undecided, match=re.escape(str(answer))):
                classifier.classify(text)
        else:
            assert answer == classifier.classify(text)


def test_texts_weighed_together_get_what_each_gets_alone(classifier):
    """Across the chunks of CHUNK texts, and whatever else shares the batch."""
    texts = [e.text for e in read_examples()[: 2 * CHUNK + 3]] + ["", "Hello", "路灯不亮"]
    together = classifier.model.probabilities(texts, classifier.segmenter)
    alone = np.vstack([classifier.model.probabilities([t], classifier.segmenter) for t in texts])
    assert together.shape == (len(texts), len(classifier.model.classes))
    assert abs(together - alone).max() < 1e-12


def test_batch_tool_writes_category_matter_and_confidence(tmp_path, capsys, classifier):
    from services.cli import main

    source = tmp_path / "old.csv"
    source.write_text(
        "id,title,text\n1,垃圾没人清运,小区门口垃圾桶满了好几天没人清运\n2,表扬,工作人员态度很好\n3,,\n",
        encoding="utf-8",
    )
    assert main(["classify", str(source)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "id,category,matter,confidence"
    assert lines[1].startswith("1,城乡建设,CITY-GARBAGE,0.")
    assert lines[2].split(",")[2] == ""  # no matter: left for a person
    assert lines[3].startswith("3,")


def test_the_submitters_chosen_matter_counts_like_a_keyword(classifier):
    text = "晚上十一点以后楼上还在装修敲墙，吵得孩子睡不着"  # no catalogue keyword
    with pytest.raises(Undecided, match="no matter keyword"):
        classifier.classify(text)
    decision = classifier.classify(text, chosen="ENV-NOISE-LIFE")
    assert decision.matter.code == "ENV-NOISE-LIFE"
    assert decision.rule.startswith("chosen:ENV-NOISE-LIFE; model:category-")
    assert decision.confidence >= 0.5


def test_a_chosen_matter_the_text_contradicts_does_not_pass_the_threshold(classifier):
    text = "工地老板拖欠工资三个月不发"
    assert classifier.classify(text).matter.code == "LABOR-WAGE-ARREARS"
    decision = classifier.classify(text, chosen="ENV-NOISE-LIFE")
    # The keywords and the model both say wages: the citizen's pick does not override them.
    assert decision.matter.code == "LABOR-WAGE-ARREARS"
    assert [code for code, _ in decision.alternatives] == ["ENV-NOISE-LIFE"]
    assert decision.alternatives[0][1] < 0.5


def test_an_unknown_chosen_matter_is_ignored(classifier):
    text = "小区门口垃圾桶满了好几天没人清运"
    assert classifier.classify(text, chosen="NOPE") == classifier.classify(text)


def _operator_rows(path, labels):
    with path.open("w", encoding="utf-8") as f:
        f.write("id,title,text,label,text_source,created_at\n")
        for i, label in enumerate(labels):
            f.write(
                f"{i},,第{i}条 小区楼下邻里纠纷请社区调解,{label},operator,2026-11-26T10:00:00+08:00\n"
            )


def test_operator_exports_beside_the_training_data_are_trained_on_when_their_category_is_common(
    tmp_path,
):
    data = tmp_path / "messages_labelled.csv"
    _operator_rows(data, ["城乡建设"] * 25)
    _operator_rows(tmp_path / "operator-2026-11.csv", ["民政"] * 20 + ["政法"] * 3)
    (tmp_path / "notes.csv").write_text("not training data\n", encoding="utf-8")
    files = training_files(data)
    assert [f.name for f in files] == ["messages_labelled.csv", "operator-2026-11.csv"]
    examples, rare = training_examples(files)
    assert Counter(e.label for e in examples) == {"城乡建设": 25, "民政": 20}
    assert rare == {"政法": 3}  # too few for the calibration's folds: left out, and said so
    # a demand's content has no title: the text is classified as it stands
    assert examples[-1].text == "第19条 小区楼下邻里纠纷请社区调解"
    assert data_version(*files) != data_version(data)
