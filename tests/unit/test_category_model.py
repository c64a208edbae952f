"""The category model's training pieces: the near-duplicate groups."""

from __future__ import annotations

from services.classification.model import read_examples, split


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
