"""``cxpulse dlq``: list, explain and re-send the dead letters of ``cx.events.dlq``.

    letters = read_letters(settings, topic, TimeRange(since, until))   # Letter per record, time order
    chosen = [letter for letter in letters if selection.matches(letter)]
    groups = explain(chosen)                                             # by reason, with counts
    plan = plan_resend(chosen, settings, source=None)                    # events to send, what still fails
"""

from .explain import Group, explain, reason_group
from .letters import Letter, Selection, parse_letter, raw_bytes
from .read import read_letters
from .resend import ResendPlan, plan_resend, send_plan

__all__ = ["Group", "Letter", "ResendPlan", "Selection", "explain", "parse_letter", "plan_resend", "raw_bytes",
           "read_letters", "reason_group", "send_plan"]  # fmt: skip
