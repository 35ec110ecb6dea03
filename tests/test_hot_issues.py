from __future__ import annotations

from datetime import datetime, timedelta

from livelihood_monitor.hot_issues import Message, find_place, group_hot_issues
from livelihood_monitor.values import SHANGHAI

NOW = datetime(2025, 9, 30, 12, tzinfo=SHANGHAI)


def msg(
    i: int, project: str | None, words: str, text: str, days_ago: float = 0, likes: int = 0
) -> Message:
    return Message(
        str(i), project, frozenset(words.split()), text, NOW - timedelta(days=days_ago), likes
    )


def test_same_project_place_and_wording_group_together() -> None:
    messages = [
        msg(1, "ZF02", "电梯 施工 停工 基坑", "桐园新村7幢电梯基坑挖了就停工了"),
        msg(2, "ZF02", "电梯 停工 基坑 没人", "桐园新村7幢电梯停工，基坑没人管"),
        msg(3, "ZF02", "电梯 停工 基坑", "桐园新村7幢的电梯基坑停工两个月"),
        msg(4, "ZF02", "电梯 停工 基坑", "柳湾社区电梯基坑停工"),  # another place
        msg(5, "YL04", "电梯 停工 基坑", "桐园新村7幢电梯基坑停工"),  # another project
        msg(6, "ZF02", "补贴 申请 材料", "桐园新村加装电梯补贴怎么申请"),  # other wording
    ]
    issues = group_hot_issues(messages, now=NOW, known_places=["桐园新村", "柳湾社区"])
    top = issues[0]
    assert (top.project, top.place, sorted(top.message_ids)) == (
        "ZF02",
        "桐园新村",
        ["1", "2", "3"],
    )
    assert sum(i.count for i in issues) == len(messages)
    assert len(issues) == 4


def test_heat_rewards_count_recency_and_likes() -> None:
    recent = [msg(i, "JT01", "公交 班次 太少", "10路公交班次太少", days_ago=1) for i in range(3)]
    old = [
        msg(10 + i, "JT05", "停车 车位 不够", "东关街停车位不够", days_ago=120) for i in range(5)
    ]
    liked = [msg(20, "ST01", "公园 长椅 坏了", "口袋公园长椅坏了", days_ago=1, likes=500)]
    issues = group_hot_issues(recent + old + liked, now=NOW)
    by_project = {i.project: i for i in issues}
    assert by_project["JT01"].heat > by_project["JT05"].heat  # 3 fresh beat 5 stale
    assert by_project["ST01"].heat > 1 + 5  # likes count, with diminishing returns
    assert by_project["ST01"].heat < 500


def test_place_is_found_in_text() -> None:
    assert find_place("A7县星沙一桥从早堵到晚") == "A7县"
    assert find_place("汶河街道的路灯不亮", ["汶河街道"]) == "汶河街道"
    assert find_place("路灯不亮") is None


def test_a_place_word_alone_does_not_chain_unrelated_messages() -> None:
    # Message-board titles, tokenised with the place piece "A7" (of A7县). Before, the core of
    # the street-light group shrank to {A7, 路灯} and then {A7}, and every A7县 message joined.
    titles = [
        "A7 路灯 不亮",
        "A7 路灯 坏了",  # short texts: one shared word is enough
        "A7 路灯",
        "A7 停水",
        "A7 涉黄",
        "A7 修路",
        "A7 足道 涉黄 酒店",
        "A7 东十路 修通 何时",
    ]
    messages = [msg(i, "城乡建设", t, f"A7县{t.replace(' ', '')}") for i, t in enumerate(titles)]
    issues = group_hot_issues(messages, now=NOW)
    groups = sorted(sorted(i.message_ids) for i in issues if i.count > 1)
    assert groups == [["0", "1", "2"], ["4", "6"]]
    assert all(i.place == "A7县" and "A7" not in i.words for i in issues)


def test_one_shared_word_is_not_enough_between_longer_texts() -> None:
    # Cosine 1/4 < 0.45: a shared topic word alone does not make two reports one issue.
    messages = [
        msg(1, "JT01", "公交 班次 太少 早高峰", "广陵区公交班次太少"),
        msg(2, "JT01", "公交 站台 太远 老人", "广陵区公交站台太远"),  # shares only 公交
        msg(3, "JT01", "公交 班次 太少", "广陵区公交班次太少了"),
    ]
    groups = sorted(sorted(i.message_ids) for i in group_hot_issues(messages, now=NOW))
    assert groups == [["1", "3"], ["2"]]


def test_a_message_of_place_words_only_keeps_them() -> None:
    # Stripping the place would leave nothing to compare: such messages still group together.
    messages = [msg(i, "ZF01", "A7", "A7县") for i in range(3)]
    issues = group_hot_issues(messages, now=NOW)
    assert [i.count for i in issues] == [3]
    assert issues[0].words == {"A7"}


def test_grouping_across_classes_takes_the_majority_class() -> None:
    # A message board's coarse classes: the same complaint filed under two of them.
    messages = [
        msg(1, "城乡建设", "伊景园 捆绑 车位 销售", "A市伊景园捆绑销售车位"),
        msg(2, "劳动和社会保障", "伊景园 捆绑 车位 维权", "A市伊景园捆绑车位维权"),
        msg(3, "城乡建设", "伊景园 捆绑 车位", "A市伊景园又在捆绑车位"),
        msg(4, "劳动和社会保障", "工资 拖欠 农民工", "A市农民工工资拖欠"),
    ]
    by_class = group_hot_issues(messages, now=NOW)
    assert max(i.count for i in by_class) == 2  # the default: never across classes
    issues = group_hot_issues(messages, now=NOW, by_project=False)
    top = issues[0]
    assert (top.project, sorted(top.message_ids)) == ("城乡建设", ["1", "2", "3"])
    assert [i.project for i in issues[1:]] == ["劳动和社会保障"]


def test_majority_class_prefers_a_class_over_none_and_the_earliest_on_a_tie() -> None:
    tie = [
        msg(1, "劳动和社会保障", "捆绑 车位 销售", "A市捆绑销售车位"),
        msg(2, "城乡建设", "捆绑 车位 销售", "A市捆绑销售车位"),
    ]
    assert [i.project for i in group_hot_issues(tie, now=NOW, by_project=False)] == [
        "劳动和社会保障"
    ]
    unclassified = [
        msg(1, None, "捆绑 车位 销售", "A市捆绑销售车位"),
        msg(2, None, "捆绑 车位 销售", "A市捆绑销售车位"),
        msg(3, "城乡建设", "捆绑 车位 销售", "A市捆绑销售车位"),
    ]
    issues = group_hot_issues(unclassified, now=NOW, by_project=False)
    assert [(i.project, i.count) for i in issues] == [("城乡建设", 3)]
