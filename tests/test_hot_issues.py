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
