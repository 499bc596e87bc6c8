"""Sign-in through a province's education SSO (OpenID Connect), checked against the roster.

The SSO says who someone is; the roster says what they may do here. A person is let in
only when both agree: they are on the roster under the SSO's username, their email is
verified (when the center asks for it), the ID token is still valid, and the school,
classes and role the SSO claims match the roster. A claim never changes a role or a
school: the claims go through the one rule of who may grant what
(:func:`hub.org.grants.check_grant`, as :data:`~hub.org.grants.SIGN_IN_CLAIMS`, which
may grant nothing), so only the roster makes someone an admin or moves them between
schools. The one exception is the district admin, where the center names a district
claim: the education bureau's SSO, not a school's roster, knows who runs a district, so
a district admin claim naming an existing district makes that account the district's
admin (as :data:`~hub.org.grants.DISTRICT_CLAIMS`, which may grant that and nothing
else; an unknown district is refused, never created; the JupyterHub role follows in the
same sign-in, :mod:`hub.auth.sign_in_access`). The student's JupyterHub groups
(``manage_groups``) are those the mirror keeps (:func:`hub.org.directory.person_access`:
class, school and district), once the claimed classes agree with the roster, so a
sign-in never contradicts the mirror. Every refusal is a page that says
why, in Chinese and English, and whom to ask.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import jwt
from oauthenticator.generic import GenericOAuthenticator
from sqlalchemy import select
from sqlalchemy.orm import Session
from tornado import web
from traitlets import Bool, Unicode
from traitlets.config import Config

from hub.audit.trail import record
from hub.auth.base import ClassroomAuthenticator
from hub.org.directory import current_enrollments, person_access
from hub.org.grants import DISTRICT_CLAIMS, SIGN_IN_CLAIMS, GrantRefused, Standing, check_grant
from hub.org.models import District, Enrollment, Person, Role
from hub.org.roster import ROLE_NAMES
from hub.settings import OAuthSettings, Settings, SettingsError


class SignInRefused(web.HTTPError):
    """A 403 whose bilingual message is shown on the hub's error page."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(403, f"{zh}。请联系学校管理员。 / {en}. Please ask your school's "
                              "administrator.")


class RegionOAuthenticator(ClassroomAuthenticator, GenericOAuthenticator):
    """GenericOAuthenticator whose users must be on the roster and agree with it.

    The defaults are the settings' (:class:`hub.settings.OAuthSettings`), declared there once.
    """

    school_claim = Unicode(OAuthSettings.school_claim,
                           help="Claim holding the school id").tag(config=True)
    classes_claim = Unicode(OAuthSettings.classes_claim,
                            help="Claim holding the list of class ids").tag(config=True)
    role_claim = Unicode(OAuthSettings.role_claim, help="Claim holding the role").tag(config=True)
    district_claim = Unicode(
        OAuthSettings.district_claim,
        help="Claim holding a district admin's district id; empty: district admins come from "
             "the roster only").tag(config=True)
    issuer = Unicode(OAuthSettings.issuer,
                     help="Expected iss of ID tokens; empty: not checked").tag(config=True)
    require_verified_email = Bool(
        OAuthSettings.require_verified_email,
        help="Refuse users whose email_verified claim is not true").tag(config=True)

    def _check_id_token(self, id_token: str | None) -> None:
        if not id_token:
            raise SignInRefused("统一身份认证没有返回身份令牌",
                                "the SSO returned no ID token")
        try:
            jwt.decode(id_token, audience=self.client_id, issuer=self.issuer or None,
                       options={"verify_signature": False, "verify_aud": True,
                                "verify_exp": True, "verify_iss": bool(self.issuer),
                                "require": ["exp"]})
        except jwt.ExpiredSignatureError as exc:
            raise SignInRefused("登录凭证已过期，请重新登录",
                                "the sign-in token has expired; sign in again") from exc
        except jwt.InvalidTokenError as exc:
            raise SignInRefused("登录凭证无效", "the sign-in token is not valid") from exc

    def _district_admin_from_claims(self, session: Session, username: str,
                                    person: Person | None, claims: dict) -> Person:
        """Make ``username`` the admin of the claimed district, if the district exists and
        the grant rule allows it (audited); refuse otherwise."""
        district_id = str(claims.get(self.district_claim) or "").strip()
        district = session.get(District, district_id) if district_id else None
        if district is None:
            raise SignInRefused(f"统一身份认证中的区县“{district_id}”在本区域不存在",
                                f"the district “{district_id}” given by the SSO does not "
                                "exist in this region")
        before = (Standing(person.role, person.school_id, person.district_id)
                  if person else None)
        try:
            check_grant(DISTRICT_CLAIMS, username, before,
                        Standing(Role.DISTRICT_ADMIN, None, district.id))
        except GrantRefused as refused:
            raise SignInRefused(refused.zh, refused.en) from refused
        if person is not None and person.district_id == district.id:
            return person
        if person is None:
            person = Person(username=username, display_name=username, role=Role.DISTRICT_ADMIN)
            session.add(person)
        person.district_id = district.id
        session.flush()
        record(session, actor="", action="role.changed", subject=username, source="oauth",
               detail={"role": Role.DISTRICT_ADMIN, "district": district.id,
                       "from_district": before.district if before else None})
        return person

    def _roster_groups(self, username: str, claims: dict) -> list[str]:
        """The student's groups if the claims agree with the roster; refuse otherwise."""
        with self.database.session() as session:
            person = session.get(Person, username)
            claimed_role = ROLE_NAMES.get(str(claims.get(self.role_claim, "")).lower())
            if self.district_claim and claimed_role == Role.DISTRICT_ADMIN:
                person = self._district_admin_from_claims(session, username, person, claims)
            # People of the whole region have no school here; an SSO may still name the
            # education bureau's code for them, which is not a school membership.
            claimed_school = (claims.get(self.school_claim) or None
                              if person is None or person.school_id else None)
            try:
                check_grant(SIGN_IN_CLAIMS, username,
                            Standing(person.role, person.school_id) if person else None,
                            Standing(claimed_role or "", claimed_school))
            except GrantRefused as refused:
                raise SignInRefused(refused.zh, refused.en) from refused
            claimed_classes = set(claims.get(self.classes_claim) or [])
            if person.role == Role.STUDENT:
                roster_classes = {class_id for class_id, _school, student
                                  in current_enrollments(session) if student == username}
            else:
                roster_classes = set(session.scalars(select(Enrollment.class_id).where(
                    Enrollment.username == username)))
            if claimed_classes != roster_classes:
                raise SignInRefused("统一身份认证中的班级与花名册不一致",
                                    "the classes given by the SSO do not match the roster")
            return sorted(person_access(session, username).groups)

    async def update_auth_model(self, auth_model: dict) -> dict:
        """Refuse expired tokens, unverified emails and anyone the roster does not confirm."""
        auth_state = auth_model["auth_state"]
        self._check_id_token(auth_state.get("id_token"))
        claims = auth_state.get(self.user_auth_state_key) or {}
        if self.require_verified_email and claims.get("email_verified") is not True:
            raise SignInRefused("邮箱尚未验证", "the email address is not verified")
        loop = asyncio.get_running_loop()
        groups = await loop.run_in_executor(None, self._roster_groups, auth_model["name"],
                                            claims)
        auth_state["aiclass_groups"] = groups
        return auth_model

    async def get_user_groups(self, auth_state: dict) -> set[str]:
        return set(auth_state.get("aiclass_groups", []))


def configure_oauth(c: Config, settings: Settings) -> None:
    """Sign-in through the SSO named in ``[oauth]``."""
    oauth = settings.oauth
    for key in ("authorize_url", "token_url", "userdata_url", "client_id",
                "client_secret_file"):
        if not getattr(oauth, key):
            raise SettingsError(f"[oauth] {key}: 使用 oauth 登录时必须填写 / required when "
                                "[auth] method = 'oauth'")
    secret_path = settings.data_dir / Path(oauth.client_secret_file)
    try:
        secret = secret_path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SettingsError(f"[oauth] client_secret_file = {oauth.client_secret_file!r}: "
                            f"无法读取 / cannot be read: {exc.strerror}") from exc
    c.JupyterHub.authenticator_class = RegionOAuthenticator
    authenticator = c.RegionOAuthenticator
    authenticator.database_url = settings.database_url
    authenticator.authorize_url = oauth.authorize_url
    authenticator.token_url = oauth.token_url
    authenticator.userdata_url = oauth.userdata_url
    authenticator.client_id = oauth.client_id
    authenticator.client_secret = secret
    authenticator.oauth_callback_url = (oauth.callback_url
                                        or f"{settings.public_url}hub/oauth_callback")
    authenticator.scope = list(oauth.scopes)
    authenticator.username_claim = oauth.username_claim
    authenticator.school_claim = oauth.school_claim
    authenticator.classes_claim = oauth.classes_claim
    authenticator.role_claim = oauth.role_claim
    authenticator.district_claim = oauth.district_claim
    authenticator.issuer = oauth.issuer
    authenticator.require_verified_email = oauth.require_verified_email
    authenticator.login_service = oauth.login_service
    authenticator.manage_groups = True
    authenticator.allow_all = True
    authenticator.admin_users = set(settings.hub.admin_users)
