"""The fixed vocabulary of the audit trail's actions, with the words the search page shows.

A fixed list, not free text: the search page offers it as a choice, and a typo in a
caller would otherwise file events under an action no one searches for.
"""

from __future__ import annotations

ACTIONS: dict[str, tuple[str, str]] = {
    "sign_in.ok": ("登录成功", "signed in"),
    "sign_in.failed": ("登录失败", "sign-in failed"),
    "sign_in.locked": ("账号锁定", "locked out"),
    "sign_in.held_back": ("登录地址暂缓", "sign-ins from an address held back"),
    "roster.import": ("导入名单", "roster imported"),
    "person.created": ("新增人员", "person created"),
    "person.changed": ("修改人员", "person changed"),
    "person.removed": ("删除人员", "person removed"),
    "role.changed": ("角色变更", "role changed"),
    "password.reset": ("重置密码", "password reset"),
    "grades.viewed": ("查看成绩", "grades viewed"),
    "grade.changed": ("修改成绩", "grade changed"),
    "export.made": ("导出文件", "file exported"),
    "assignment.released": ("发布作业", "assignment released"),
    "feedback.released": ("发布反馈", "feedback released"),
    "privacy.exported": ("导出个人数据", "personal data exported"),
    "privacy.erased": ("删除个人数据", "personal data erased"),
    "audit.exported": ("导出审计记录", "audit trail exported"),
    "audit.pruned": ("清理过期审计记录", "expired audit rows pruned"),
    "programme.applied": ("提交项目申报", "programme application submitted"),
    "programme.recommended": ("区县推荐申报", "application recommended by the district"),
    "programme.decided": ("区域审批申报", "application decided by the region"),
    "programme.indicator": ("填报督导指标", "supervision figure entered"),
    "programme.evidence": ("上传佐证材料", "evidence uploaded"),
    "programme.evidence_deleted": ("删除佐证材料", "evidence deleted"),
    "training.cohort": ("创建研修班", "training cohort created"),
    "training.enrolled": ("招收研修学员", "trainee enrolled"),
    "training.attendance": ("记录研修活动出勤", "training session attendance recorded"),
    "training.certificate": ("颁发研修证书", "training certificate issued"),
    "library.published": ("发布共享资源", "shared library item published"),
    "library.reviewed": ("审核共享资源", "shared library item reviewed"),
    "library.imported": ("导入资源包", "library package imported"),
    "competition.created": ("创建比赛", "competition created"),
    "competition.deadline": ("修改比赛截止时间", "competition deadline moved"),
    "competition.team": ("组建参赛队伍", "competition team formed"),
}
"""Every action name, with its label in Chinese and in English."""


class UnknownAction(ValueError):
    """An action outside :data:`ACTIONS`: a programming error, said in both languages."""

    def __init__(self, action: str) -> None:
        super().__init__(f"未知的审计动作 {action!r} / unknown audit action {action!r}")
