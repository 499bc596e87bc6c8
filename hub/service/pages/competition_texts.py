"""The texts of the competition pages (排行榜, 获奖证书), zh-CN first, then English.

Kept beside :mod:`hub.service.pages.texts` as the programme's are: the pages read
``ct.key``; a key missing from a locale is a test failure, not a blank.
"""

from __future__ import annotations

COMPETITION_TEXTS: dict[str, dict[str, str]] = {
    "zh_CN": {
        "competitions": "活动与赛事",
        "deadline": "截止时间",
        "daily_limit": "每天可提交次数",
        "files": "比赛文件",
        "public_board": "公开排行榜（部分测试样本）",
        "private_board": "最终排行榜（其余测试样本）",
        "private_hidden": "最终排行榜将在截止后公布。",
        "rank": "名次",
        "name": "参赛者",
        "school": "学校",
        "district": "区县",
        "score": "准确率",
        "entries": "提交次数",
        "school_ranking": "学校排名",
        "district_ranking": "区县排名",
        "best": "最好成绩",
        "participants": "参赛者数",
        "no_entries": "还没有评分的提交。",
        "certificates": "获奖证书",
        "certificate": "获奖证书",
        "certificate_text": "在「{title}」中以准确率 {score} 获得第 {rank} 名。",
        "certificates_hidden": "截止之后才能打印获奖证书。",
        "print": "打印",
        "issued_by": "颁发单位",
    },
    "en": {
        "competitions": "Activities and competitions",
        "deadline": "Deadline",
        "daily_limit": "Entries per day",
        "files": "Competition files",
        "public_board": "Public leaderboard (part of the test rows)",
        "private_board": "Final leaderboard (the other test rows)",
        "private_hidden": "The final leaderboard is published after the deadline.",
        "rank": "Rank",
        "name": "Participant",
        "school": "School",
        "district": "District",
        "score": "Accuracy",
        "entries": "Entries",
        "school_ranking": "Schools",
        "district_ranking": "Districts",
        "best": "Best",
        "participants": "Participants",
        "no_entries": "No scored entries yet.",
        "certificates": "Certificates",
        "certificate": "Certificate of award",
        "certificate_text": "Ranked {rank} in “{title}” with an accuracy of {score}.",
        "certificates_hidden": "Certificates can be printed after the deadline.",
        "print": "Print",
        "issued_by": "Issued by",
    },
}
