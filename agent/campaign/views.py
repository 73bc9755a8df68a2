"""Typed views of campaigns (pydantic, with `to_json()`): what `suture campaign …` prints and the web UI shows.
Light: pydantic only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class CampaignView(BaseModel):
    """A campaign: its selection, owner, due date, limits, and how many items are in each state."""

    name: str
    state: str  # open | closed
    owner: str | None = None
    due: datetime | None = None
    created_at: datetime
    closed_at: datetime | None = None
    selectors: dict[str, Any] = Field(default_factory=dict)
    selection: str = ""  # the selectors in words
    repos: dict[str, str] = Field(default_factory=dict)  # repo key -> checkout path
    max_proposals: int | None = None
    budget_usd: float | None = None
    items: dict[str, int] = Field(default_factory=dict)  # item state -> count
    cost_usd: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class RunView(BaseModel):
    """What one `campaign run` did, and why it stopped."""

    campaign: str
    workers: int
    claimed: int
    finished: dict[str, int] = Field(default_factory=dict)  # done / failed / lost
    stop_reason: str | None = None  # empty, max_proposals, budget, closed, or a model error
    cleaned_worktrees: list[str] = Field(default_factory=list)
    released_claims: int = 0
    errors: list[str] = Field(default_factory=list)
    items: dict[str, int] = Field(default_factory=dict)  # item states after the run

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class StatusView(BaseModel):
    """Progress per repo and per team (step -> count, see agent.campaign.status) and the burn-down."""

    campaign: CampaignView
    steps: list[str]
    total: dict[str, int]
    by_repo: dict[str, dict[str, int]]
    by_team: dict[str, dict[str, int]]
    burn_down: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
