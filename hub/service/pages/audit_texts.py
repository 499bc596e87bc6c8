"""The texts of the audit trail's search page, zh-CN first, then English.

Kept beside :mod:`hub.service.pages.texts` like the programme's: the page reads
``au.key``; a key missing from a locale is a test failure, not a blank.
"""

from __future__ import annotations

AUDIT_TEXTS: dict[str, dict[str, str]] = {
    "zh_CN": {
        "title": "审计记录",
        "intro": "谁在何时对谁做了什么。人员以用户名显示；已删除个人数据的人只显示编号。"
                 "每行带有与上一行相连的哈希，可用 aiclass audit verify 校验。",
        "scope_school": "范围：本校",
        "scope_region": "范围：全区域",
        "action": "动作",
        "any_action": "全部动作",
        "person": "用户名（操作人或对象）",
        "since": "起始日期",
        "until": "截止日期（含）",
        "class": "班级代码",
        "school": "学校代码",
        "search": "查询",
        "export": "导出 XLSX",
        "bad_date": "日期格式应为 YYYY-MM-DD，例如 2026-09-01 / dates are YYYY-MM-DD, "
                    "e.g. 2026-09-01",
        "bad_action": "未知的动作 / unknown action",
        "none": "没有符合条件的记录。",
        "shown": "显示最近的 {count} 条（导出包含全部）",
        "id": "编号",
        "time": "时间",
        "actor": "操作人",
        "subject": "对象",
        "source": "来源地址",
        "detail": "详情",
    },
    "en": {
        "title": "Audit trail",
        "intro": "Who did what to whom, and when. People show by username; someone whose "
                 "data was erased shows only as a number. Each row carries a hash chained "
                 "to the one before; aiclass audit verify checks it.",
        "scope_school": "Scope: your school",
        "scope_region": "Scope: the whole region",
        "action": "Action",
        "any_action": "Every action",
        "person": "Username (actor or subject)",
        "since": "From",
        "until": "Until (inclusive)",
        "class": "Class id",
        "school": "School id",
        "search": "Search",
        "export": "Export XLSX",
        "bad_date": "Dates are YYYY-MM-DD, e.g. 2026-09-01 / 日期格式应为 YYYY-MM-DD",
        "bad_action": "Unknown action / 未知的动作",
        "none": "No rows match.",
        "shown": "The latest {count} rows (the export has all of them)",
        "id": "Id",
        "time": "Time",
        "actor": "Actor",
        "subject": "Subject",
        "source": "Source address",
        "detail": "Detail",
    },
}
