"""The category model's training pieces: the near-duplicate groups and the NB-SVM."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from services.classification.category_model import NBLinearSVC, lead, read_examples, split


def _write(tmp_path, rows):
    path = tmp_path / "labelled.csv"
    lines = ["id,title,text,label,text_source,created_at"]
    lines += [f"{i},{t},{x},{y},exact,2019-01-01" for i, (t, x, y) in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_near_duplicates_share_a_group_by_title_or_by_text(tmp_path):
    body = "小区楼顶水箱长年不清洗，自来水有一股霉味，请有关部门尽快处理。" * 2
    path = _write(
        tmp_path,
        [
            ("A1区华庭小区自来水有霉味", body, "城乡建设"),
            ("A2区华庭小区自来水有霉味", "另一段文字", "城乡建设"),  # same title but the place
            ("华庭楼顶水箱长年不洗", body.replace("小区", "A3区小区", 1), "城乡建设"),  # same text
            ("学校门口交通拥堵", "上学时间车辆太多", "交通运输"),
            ("B市学校门口交通拥堵严重", "", "交通运输"),  # a title only: its own group
        ],
    )
    groups = [e.group for e in read_examples(path)]
    assert groups[0] == groups[1] == groups[2]
    assert len({groups[0], groups[3], groups[4]}) == 3


def test_the_split_never_puts_one_group_on_both_sides():
    examples = read_examples()
    train, test = split(examples)
    assert not {examples[i].group for i in train} & {examples[i].group for i in test}


def test_the_lead_is_the_title_of_a_message_written_as_title_and_text():
    assert lead("路灯不亮。小区门口的路灯坏了三天") == "路灯不亮"
    assert lead("没有句号的一段话" * 10) == ("没有句号的一段话" * 10)[:40]


def test_nb_svm_is_one_linear_model_over_the_unscaled_features():
    rng = np.random.default_rng(7)
    features = sparse.random(60, 40, density=0.2, random_state=rng, format="csr")
    labels = np.array(["a", "b", "c"])[rng.integers(0, 3, 60)]
    model = NBLinearSVC(C=0.5, random_state=7).fit(features, labels)
    assert model.coef_.shape == (3, 40)
    expected = features.toarray() @ model.coef_.T + model.intercept_
    assert abs(model.decision_function(features) - expected).max() < 1e-12
    assert list(model.predict(features)) == list(model.classes_[expected.argmax(axis=1)])
