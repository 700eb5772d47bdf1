"""Supervisors' decisions on reconciliation pairs: what a supervisor may say of a finding and a ledger entry."""

from __future__ import annotations

import enum
from collections.abc import Mapping


class PairVerdict(enum.StrEnum):
    """What a supervisor said of a finding and a ledger entry."""

    #: One hazard: the ledger held the inspector's finding (a proposed pair confirmed, or a pair made by hand).
    same = "same"
    #: Two hazards: the matcher must never pair them.
    different = "different"
    #: The supervisor took back an earlier word on the pair: the matcher decides it again.
    withdrawn = "withdrawn"


#: The latest verdict on each (finding id, ledger entry id) pair; a pair not in it was never decided.
Decisions = Mapping[tuple[str, str], PairVerdict]

#: Verdicts a supervisor gives with a reason (a pair made by hand needs one as well).
NEEDS_REASON = frozenset({PairVerdict.different})
