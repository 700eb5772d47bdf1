"""User roles and what each may see: the rules behind every scope check."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """The kinds of user; one role per account."""

    inspector = "inspector"
    supervisor = "supervisor"
    city_supervisor = "city_supervisor"
    enterprise = "enterprise"
    expert = "expert"
    #: 法制审核: reviews major enforcement decisions (stop-production orders) before they are issued.
    legal_reviewer = "legal_reviewer"
    admin = "admin"

    @property
    def label_zh(self) -> str:
        """Chinese name of the role."""
        return _LABELS_ZH[self]


_LABELS_ZH = {
    Role.inspector: "执法检查人员",
    Role.supervisor: "县级监管人员",
    Role.city_supervisor: "市级监管人员",
    Role.enterprise: "企业用户",
    Role.expert: "专家",
    Role.legal_reviewer: "法制审核人员",
    Role.admin: "系统管理员",
}

#: Roles that must be tied to one enterprise, and roles that must not.
ENTERPRISE_ROLES = frozenset({Role.enterprise})
#: Roles whose scope is a region (and everything below it).
REGION_ROLES = frozenset(
    {Role.inspector, Role.supervisor, Role.city_supervisor, Role.expert, Role.legal_reviewer}
)
#: Roles that work on the supervisor's pages and API.
SUPERVISOR_ROLES = frozenset({Role.supervisor, Role.city_supervisor, Role.admin})


def scope_problem(role: Role, has_region: bool, has_enterprise: bool) -> tuple[str, str] | None:
    """Why a role/scope combination is inconsistent (in Chinese, in English), or None when it is fine."""
    if role in ENTERPRISE_ROLES and not has_enterprise:
        return "企业用户必须关联一个企业", "an enterprise user needs an enterprise"
    if role not in ENTERPRISE_ROLES and has_enterprise:
        return "只有企业用户可以关联企业", "only enterprise users are linked to an enterprise"
    if role in REGION_ROLES and not has_region:
        return "该角色必须指定管辖区域", "this role needs a region"
    return None
