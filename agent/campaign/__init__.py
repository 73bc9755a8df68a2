"""Campaigns: a named batch of findings across repos, worked through in rank order by parallel workers.

select.py: what a campaign selects (Selectors) and its items from each repo's triage; runner.py: the workers
(claims in the store, the fix use case per finding, cleanup of worktrees a killed run left); status.py: counts per
repo and team and the burn-down. The use cases are in agent.app.campaign.
"""
