"""The life of a 停产整顿指令书 (stop-production order): drafted by a supervisor, reviewed by a legal reviewer
(重大执法决定法制审核) who approves it or returns it with comments, issued (numbered, printed) only once approved,
and closed by the resumption check (复产验收).

draft ─submit→ in_review ─approve→ approved ─issue→ issued ─resume→ resumed
  ↑                 │return
  └── returned ←────┘ (edited, then submitted again)

A draft, returned or approved order may be withdrawn (撤回) before it is issued; an issued order is a legal act
and is only ever closed by resumption.
"""

from __future__ import annotations

from enum import StrEnum

from server.domain.roles import Role


class OrderState(StrEnum):
    """Where a stop-production order is."""

    draft = "draft"
    in_review = "in_review"
    returned = "returned"
    approved = "approved"
    issued = "issued"
    resumed = "resumed"
    withdrawn = "withdrawn"

    @property
    def label_zh(self) -> str:
        """Chinese name of the state."""
        return _STATE_ZH[self]

    @property
    def editable(self) -> bool:
        """Whether the drafter may still change the order's content (never once reviewed and approved)."""
        return self in (OrderState.draft, OrderState.returned)


_STATE_ZH = {
    OrderState.draft: "草稿",
    OrderState.in_review: "法制审核中",
    OrderState.returned: "审核退回",
    OrderState.approved: "审核通过待下达",
    OrderState.issued: "已下达（停产整顿中）",
    OrderState.resumed: "已复产验收",
    OrderState.withdrawn: "已撤回",
}


class OrderAction(StrEnum):
    """What can be done to an order."""

    submit = "submit"
    approve = "approve"
    return_ = "return"
    issue = "issue"
    resume = "resume"
    withdraw = "withdraw"

    @property
    def label_zh(self) -> str:
        """Chinese name of the action."""
        return _ACTION_ZH[self]


_ACTION_ZH = {
    OrderAction.submit: "提交法制审核",
    OrderAction.approve: "审核通过",
    OrderAction.return_: "退回修改",
    OrderAction.issue: "下达",
    OrderAction.resume: "复产验收",
    OrderAction.withdraw: "撤回",
}

_DRAFTERS = frozenset({Role.supervisor, Role.city_supervisor, Role.admin})
_REVIEWERS = frozenset({Role.legal_reviewer})

#: (state, action) → (next state, roles allowed to do it).
_TRANSITIONS: dict[tuple[OrderState, OrderAction], tuple[OrderState, frozenset[Role]]] = {
    (OrderState.draft, OrderAction.submit): (OrderState.in_review, _DRAFTERS),
    (OrderState.returned, OrderAction.submit): (OrderState.in_review, _DRAFTERS),
    (OrderState.in_review, OrderAction.approve): (OrderState.approved, _REVIEWERS),
    (OrderState.in_review, OrderAction.return_): (OrderState.returned, _REVIEWERS),
    (OrderState.approved, OrderAction.issue): (OrderState.issued, _DRAFTERS),
    (OrderState.issued, OrderAction.resume): (OrderState.resumed, _DRAFTERS),
    (OrderState.draft, OrderAction.withdraw): (OrderState.withdrawn, _DRAFTERS),
    (OrderState.returned, OrderAction.withdraw): (OrderState.withdrawn, _DRAFTERS),
    (OrderState.approved, OrderAction.withdraw): (OrderState.withdrawn, _DRAFTERS),
}

#: Actions that must say why (the reviewer's comments, the resumption check's findings, the withdrawal's reason).
NEEDS_COMMENT = frozenset({OrderAction.return_, OrderAction.resume, OrderAction.withdraw})


class IllegalOrderStep(ValueError):
    """The action is not allowed in this state or for this role; ``why_zh``/``why_en`` say why."""

    def __init__(self, why_zh: str, why_en: str) -> None:
        super().__init__(why_en)
        self.why_zh = why_zh
        self.why_en = why_en


def next_state(state: OrderState, action: OrderAction, role: Role, comment: str) -> OrderState:
    """The state ``action`` by a user of ``role`` leads to; raise IllegalOrderStep when it may not be done."""
    step = _TRANSITIONS.get((state, action))
    if step is None:
        raise IllegalOrderStep(
            f"指令书当前为“{state.label_zh}”，不能“{action.label_zh}”",
            f"the order is '{state.value}' and cannot be '{action.value}'",
        )
    target, roles = step
    if role not in roles:
        raise IllegalOrderStep(
            f"“{role.label_zh}”不能“{action.label_zh}”", f"a {role.value} may not '{action.value}' an order"
        )
    if action in NEEDS_COMMENT and not comment.strip():
        raise IllegalOrderStep(f"“{action.label_zh}”必须填写意见", f"'{action.value}' needs a comment")
    return target


def allowed_actions(state: OrderState, role: Role) -> list[OrderAction]:
    """The actions a user of ``role`` may take on an order in ``state``, in a stable order."""
    return [a for a in OrderAction if (step := _TRANSITIONS.get((state, a))) is not None and role in step[1]]


#: States in which the order is a decision that has been made public (issued, then possibly closed).
PUBLIC_STATES = frozenset({OrderState.issued, OrderState.resumed})
