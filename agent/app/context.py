"""`context`: exactly what would be sent to a model for one finding (agent.preview). Nothing is sent."""

from __future__ import annotations

from typing import Literal

from agent.app.session import Session
from agent.preview import PromptPreview, preview_in_head


def prompt_preview(session: Session, finding_id: str, task: Literal["classify", "draft"] = "draft"
                   ) -> PromptPreview:
    """The rendered, redacted prompt for `task` on a stored finding (id or unique prefix), built from a clean
    checkout of HEAD with the session's settings, with token counts and the most the call could cost."""
    return preview_in_head(session.ws, session.store, finding_id, session.settings, task)


__all__ = ["PromptPreview", "prompt_preview"]
