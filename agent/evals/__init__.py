"""The eval harness: run an engine over labelled cases and measure fixes, verdicts, cost and context.

`cases` loads case folders, `engines` holds the reference engines (oracle, null, saboteur), `runner` takes each case
through the real pipeline and scores the gates, `metrics` turns outcomes into rates with confidence intervals,
`report` writes markdown/JSON/HTML, and `compare` judges two runs case by case.
"""
