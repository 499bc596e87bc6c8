"""The texts of the shared library's pages (资源共享), zh-CN first, then English.

The pages read ``lt.key``; a key missing from a locale is a test failure, not a blank.
"""

from __future__ import annotations

LIBRARY_TEXTS: dict[str, dict[str, str]] = {
    "zh_CN": {
        "shared": "资源共享", "search": "检索", "publish": "发布我的作业",
        "new_version": "发布新版本", "title": "标题", "shelf": "资源库",
        "school": "本校资源库", "region": "区域资源库", "stage": "学段", "grades": "年级",
        "grade": "年级", "topic": "主题", "periods": "课时", "standard": "课程标准",
        "summary": "简介", "folder": "或选择整个作业文件夹",
        "files": "文件（nbgrader 源笔记本、解释器、数据，或一个 zip）",
        "any": "全部", "words": "标题关键词", "classes": "使用班级", "submissions": "提交",
        "average": "平均得分率", "rating": "评分", "no_items": "没有符合条件的资源。",
        "more": "下一页", "version": "版本", "review": "审核", "pending": "待审核",
        "approved": "已通过", "rejected": "已退回", "approve": "通过", "reject": "退回",
        "reason": "原因", "use": "在我的班级中使用", "assignment_id": "作业编号",
        "due": "截止时间", "release": "发布到班级", "rate": "评分（1–5）", "save": "保存",
        "export": "导出资源包", "copy": "下载副本以修改", "import": "导入资源包",
        "problem": "填写有误", "author": "作者", "mine": "我的资源", "used": "已使用",
    },
    "en": {
        "shared": "Shared library", "search": "Search", "publish": "Publish my assignment",
        "new_version": "Publish a new version", "title": "Title", "shelf": "Library",
        "school": "School library", "region": "Region library", "stage": "Stage",
        "grades": "Grades", "grade": "Grade", "topic": "Topic", "periods": "Periods",
        "standard": "Curriculum standard", "summary": "Summary",
        "folder": "or choose the whole assignment folder",
        "files": "Files (nbgrader source notebooks, explainers, data, or one zip)",
        "any": "Any", "words": "Words in the title", "classes": "Classes",
        "submissions": "Submissions", "average": "Average score", "rating": "Rating",
        "no_items": "No items match.", "more": "Next page", "version": "Version",
        "review": "Review", "pending": "Waiting for review", "approved": "Approved",
        "rejected": "Rejected", "approve": "Approve", "reject": "Reject", "reason": "Reason",
        "use": "Use with my classes", "assignment_id": "Assignment id", "due": "Due",
        "release": "Release to classes", "rate": "Rate (1–5)", "save": "Save",
        "export": "Export package", "copy": "Download a copy to adapt",
        "import": "Import a package", "problem": "Please correct", "author": "Author",
        "mine": "My items", "used": "Used",
    },
}
