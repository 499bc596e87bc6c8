"""Every message the hub shows a student or teacher, in zh-CN first and English.

Pages and errors take their text from here through the locale in the settings,
so that switching ``[locale] default`` switches the whole hub.
"""

from __future__ import annotations


class FieldProblem(Exception):
    """One field of a form (or of a file standing for one) is wrong; nothing was changed.

    ``field`` names it, so that the page can show the message beside it, Chinese first.
    """

    def __init__(self, field: str, zh: str, en: str) -> None:
        self.field = field
        self.zh = zh
        self.en = en
        super().__init__(f"{field}: {zh} / {en}")


TEXT: dict[str, dict[str, str]] = {
    "zh_CN": {
        "site_name": "AI 课堂",
        "sign_in_title": "请使用学校发放的账号登录",
        "change_password_title": "首次登录：请设置新密码",
        "username": "用户名",
        "password": "密码",
        "current_password": "初始密码",
        "new_password": "新密码",
        "new_password_confirm": "再次输入新密码",
        "sign_in": "登录",
        "change_password_submit": "设置新密码并登录",
        "bad_credentials": "用户名或密码错误。连续输错多次后账号会暂时锁定，可请老师重置密码。",
        "retry_later": "这个网络的登录失败次数过多，请 {seconds} 秒后再试。",
        "must_change": "这是你的初始密码。请再次输入初始密码，并设置一个新密码。",
        "password_too_short": "新密码至少需要 {length} 个字符。",
        "password_mismatch": "两次输入的新密码不一致。",
        "password_unchanged": "新密码不能与初始密码相同。",
        "nav_home": "首页",
        "nav_admin": "管理",
        "service_classroom": "课堂",
        "sign_out": "退出",
        "home_intro": "你的 JupyterLab 学习环境",
        "start_server": "进入我的实验室",
        "open_lab": "打开我的实验室",
        "stop_server": "关闭我的实验室",
        "server_starting": "正在为你准备实验室……",
        "server_redirect": "准备好后会自动打开。",
    },
    "en": {
        "site_name": "AI Classroom",
        "sign_in_title": "Sign in with the account your school gave you",
        "change_password_title": "First sign-in: choose a new password",
        "username": "Username",
        "password": "Password",
        "current_password": "Initial password",
        "new_password": "New password",
        "new_password_confirm": "New password again",
        "sign_in": "Sign in",
        "change_password_submit": "Set new password and sign in",
        "bad_credentials": "Wrong username or password. After several wrong tries the account "
                           "locks for a while; your teacher can reset your password.",
        "retry_later": "Too many failed sign-ins from this network: try again in {seconds} s.",
        "must_change": "This is your initial password. Enter it again and choose a new one.",
        "password_too_short": "The new password needs at least {length} characters.",
        "password_mismatch": "The two new passwords differ.",
        "password_unchanged": "The new password must differ from the initial one.",
        "nav_home": "Home",
        "nav_admin": "Admin",
        "service_classroom": "Classroom",
        "sign_out": "Sign out",
        "home_intro": "Your JupyterLab learning environment",
        "start_server": "Start my lab",
        "open_lab": "Open my lab",
        "stop_server": "Stop my lab",
        "server_starting": "Preparing your lab…",
        "server_redirect": "It opens by itself when ready.",
    },
}


def text(locale: str, key: str, **values: object) -> str:
    """The message ``key`` in ``locale``, with ``values`` filled in."""
    return TEXT[locale][key].format(**values)
