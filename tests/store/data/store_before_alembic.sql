-- A store written by suture at commit 9cced6a, the last before Alembic managed the schema (sqlite3 .dump).
-- Made by the store code of that commit: two full bandit scans (the second closed one finding), a patch
-- proposal drafted, validated, approved and exported, a dismissed finding, a verdict, an LLM cache row, an
-- outcome and a file-facts row. tests/store/test_migrations.py upgrades it in place.
BEGIN TRANSACTION;
CREATE TABLE audit_heads (
	name VARCHAR(64) NOT NULL, 
	seq INTEGER NOT NULL, 
	hash VARCHAR(64) NOT NULL, 
	PRIMARY KEY (name)
);
INSERT INTO "audit_heads" VALUES('transitions',4,'e3d88b4f868230b18644189305788b7e968c2e46b0e0b5ea5aa0b4460509ac03');
CREATE TABLE file_facts (
	path TEXT NOT NULL, 
	digest VARCHAR(64) NOT NULL, 
	version INTEGER NOT NULL, 
	facts TEXT NOT NULL, 
	PRIMARY KEY (path, digest, version)
);
INSERT INTO "file_facts" VALUES('app/m1.py','dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd',1,'{"defs":["x"]}');
CREATE TABLE finding_events (
	id INTEGER NOT NULL, 
	finding_id VARCHAR(64) NOT NULL, 
	from_status VARCHAR(20), 
	to_status VARCHAR(20) NOT NULL, 
	actor VARCHAR(300) NOT NULL, 
	at DATETIME NOT NULL, 
	comment VARCHAR, 
	PRIMARY KEY (id)
);
INSERT INTO "finding_events" VALUES(1,'f10000000000','open','fixed','scanner','2025-01-04 00:00:00.000000','not reported by a full bandit scan');
INSERT INTO "finding_events" VALUES(2,'f30000000000','open','dismissed','Ada Reviewer <ada@example.com>','2026-12-02 11:48:35.341600','test code');
CREATE TABLE findings (
	id VARCHAR(64) NOT NULL, 
	tool VARCHAR(64) NOT NULL, 
	scope VARCHAR(200) NOT NULL, 
	rule_id VARCHAR(300) NOT NULL, 
	path VARCHAR NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	data JSON NOT NULL, 
	repo TEXT, 
	PRIMARY KEY (id)
);
INSERT INTO "findings" VALUES('f10000000000','bandit','bandit','B1','app/m1.py','fixed','{"id": "f10000000000", "tool": "bandit", "tool_name": null, "rule_id": "B1", "rule_name": null, "message": "m1", "cwe": [], "cve": [], "severity": "high", "confidence": "medium", "security_severity": null, "location": {"path": "app/m1.py", "start_line": 1, "end_line": null, "start_column": null, "end_column": null, "snippet": null}, "flow": [], "tags": [], "help_uri": null, "partial_fingerprints": {}, "suppressions": [], "first_seen": "2025-01-01T00:00:00Z", "last_seen": "2025-01-01T00:00:00Z", "status": "fixed", "fixed_at": "2025-01-04T00:00:00+00:00", "risk_accepted_until": null}','github.com/org/app');
INSERT INTO "findings" VALUES('f20000000000','bandit','bandit','B2','app/m2.py','open','{"id": "f20000000000", "tool": "bandit", "tool_name": null, "rule_id": "B2", "rule_name": null, "message": "m2", "cwe": [], "cve": [], "severity": "high", "confidence": "medium", "security_severity": null, "location": {"path": "app/m2.py", "start_line": 2, "end_line": null, "start_column": null, "end_column": null, "snippet": null}, "flow": [], "tags": [], "help_uri": null, "partial_fingerprints": {}, "suppressions": [], "first_seen": "2025-01-01T00:00:00Z", "last_seen": "2025-01-04T00:00:00+00:00", "status": "open", "fixed_at": null, "risk_accepted_until": null}','github.com/org/app');
INSERT INTO "findings" VALUES('f30000000000','bandit','bandit','B3','app/m3.py','dismissed','{"id":"f30000000000","tool":"bandit","tool_name":null,"rule_id":"B3","rule_name":null,"message":"m3","cwe":[],"cve":[],"severity":"low","confidence":"medium","security_severity":null,"location":{"path":"app/m3.py","start_line":3,"end_line":null,"start_column":null,"end_column":null,"snippet":null},"flow":[],"tags":[],"help_uri":null,"partial_fingerprints":{},"suppressions":[],"first_seen":"2025-01-01T00:00:00Z","last_seen":"2025-01-04T00:00:00Z","status":"dismissed","fixed_at":null,"risk_accepted_until":null}','github.com/org/app');
CREATE TABLE llm_cache (
	"key" VARCHAR(64) NOT NULL, 
	value JSON NOT NULL, 
	at DATETIME NOT NULL, 
	PRIMARY KEY ("key")
);
INSERT INTO "llm_cache" VALUES('kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk','{"reply": "x"}','2026-12-02 11:48:35.377365');
CREATE TABLE outcomes (
	id INTEGER NOT NULL, 
	finding_id VARCHAR(64) NOT NULL, 
	task VARCHAR(20) NOT NULL, 
	"key" VARCHAR(64) NOT NULL, 
	kind VARCHAR(20) NOT NULL, 
	final BOOLEAN NOT NULL, 
	reason TEXT NOT NULL, 
	proposal_id VARCHAR(64), 
	detail JSON, 
	at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "outcomes" VALUES(1,'f20000000000','fix','KKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKK','validated',1,'all checks passed','p111111111111111','null','2026-12-02 11:48:35.427520');
CREATE TABLE proposals (
	id VARCHAR(64) NOT NULL, 
	finding_id VARCHAR(64) NOT NULL, 
	state VARCHAR(20) NOT NULL, 
	engine VARCHAR(200) NOT NULL, 
	created_at DATETIME NOT NULL, 
	data JSON NOT NULL, 
	repo TEXT, 
	PRIMARY KEY (id)
);
INSERT INTO "proposals" VALUES('p111111111111111','f20000000000','exported','builtin','2026-12-02 11:48:35.132490','{"id": "p111111111111111", "finding_id": "f20000000000", "kind": "patch", "engine": "builtin", "state": "exported", "verdict": null, "rationale": "", "edits": [], "diff": "--- a\n+++ b\n", "prompt_hash": null, "model": null, "model_params": {}, "usage": {"prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0, "cost_known": true, "calls": 0, "cached_calls": 0}, "context_hash": null, "validation": null, "error": null, "attempts": 1, "notes": [], "commit": null, "created_at": "2026-12-02T11:48:35.132490Z"}','github.com/org/app');
CREATE TABLE scans (
	id INTEGER NOT NULL, 
	tool VARCHAR(64) NOT NULL, 
	scope VARCHAR(200) NOT NULL, 
	source VARCHAR NOT NULL, 
	content_hash VARCHAR(64) NOT NULL, 
	"full" BOOLEAN NOT NULL, 
	at DATETIME NOT NULL, 
	summary JSON NOT NULL, 
	repo TEXT, 
	PRIMARY KEY (id)
);
INSERT INTO "scans" VALUES(1,'bandit','bandit','ci#1','c3b42dff35c952c0cb309c69c9160272f72f303eb2af100817c77078d8b7ad0e',1,'2025-01-01 00:00:00.000000','{"new": 3, "updated": 0, "reopened": 0, "fixed": 0, "unchanged": 0, "duplicate_scan": 0}','github.com/org/app');
INSERT INTO "scans" VALUES(2,'bandit','bandit','ci#2','485fae5080aad3a304350e93dfecf8f3e975c0fca1a034b7a7928829dfeb9e67',1,'2025-01-04 00:00:00.000000','{"new": 0, "updated": 2, "reopened": 0, "fixed": 1, "unchanged": 0, "duplicate_scan": 0}','github.com/org/app');
CREATE TABLE transitions (
	id INTEGER NOT NULL, 
	proposal_id VARCHAR(64) NOT NULL, 
	from_state VARCHAR(20), 
	to_state VARCHAR(20) NOT NULL, 
	actor VARCHAR(300) NOT NULL, 
	at DATETIME NOT NULL, 
	comment TEXT, 
	seq INTEGER, 
	prev_hash VARCHAR(64), 
	hash VARCHAR(64), 
	override BOOLEAN, 
	target TEXT, 
	facts JSON, 
	PRIMARY KEY (id)
);
INSERT INTO "transitions" VALUES(1,'p111111111111111',NULL,'drafted','suture','2026-12-02 11:48:35.168633',NULL,1,'','a0d484b750046ee5339f7c134cb1a1717ca770e2a1537ce4d5e2885cc8136441',0,NULL,'{"kind": "patch", "finding_id": "f20000000000", "engine": "builtin", "model": null, "prompt_hash": null, "context_hash": null, "diff_hash": "6e53bf2ad8f234c60294a05a013874a211fe3c03653f48df43ac4ec085ab9a24", "commit": null, "validation": null}');
INSERT INTO "transitions" VALUES(2,'p111111111111111','drafted','validated','suture','2026-12-02 11:48:35.242372','ok',2,'a0d484b750046ee5339f7c134cb1a1717ca770e2a1537ce4d5e2885cc8136441','b3effa5b94ce074c4c048f03fd574c3f46d8a17ae1c70b3e0326ce7e0622dee7',0,NULL,'{"kind": "patch", "finding_id": "f20000000000", "engine": "builtin", "model": null, "prompt_hash": null, "context_hash": null, "diff_hash": "6e53bf2ad8f234c60294a05a013874a211fe3c03653f48df43ac4ec085ab9a24", "commit": null, "validation": null}');
INSERT INTO "transitions" VALUES(3,'p111111111111111','validated','approved','Ada Reviewer <ada@example.com>','2026-12-02 11:48:35.290031','lgtm',3,'b3effa5b94ce074c4c048f03fd574c3f46d8a17ae1c70b3e0326ce7e0622dee7','1602473de28050ea58a9c4fbd1700fadf5f4915c46f0a46abcb5d49d71695b78',0,NULL,'{"kind": "patch", "finding_id": "f20000000000", "engine": "builtin", "model": null, "prompt_hash": null, "context_hash": null, "diff_hash": "6e53bf2ad8f234c60294a05a013874a211fe3c03653f48df43ac4ec085ab9a24", "commit": null, "validation": null}');
INSERT INTO "transitions" VALUES(4,'p111111111111111','approved','exported','Ada Reviewer <ada@example.com>','2026-12-02 11:48:35.329015','exported to branch x',4,'1602473de28050ea58a9c4fbd1700fadf5f4915c46f0a46abcb5d49d71695b78','e3d88b4f868230b18644189305788b7e968c2e46b0e0b5ea5aa0b4460509ac03',0,'branch x','{"kind": "patch", "finding_id": "f20000000000", "engine": "builtin", "model": null, "prompt_hash": null, "context_hash": null, "diff_hash": "6e53bf2ad8f234c60294a05a013874a211fe3c03653f48df43ac4ec085ab9a24", "commit": null, "validation": null}');
CREATE TABLE verdicts (
	id INTEGER NOT NULL, 
	finding_id VARCHAR(64) NOT NULL, 
	engine VARCHAR(200) NOT NULL, 
	at DATETIME NOT NULL, 
	data JSON NOT NULL, 
	repo TEXT, 
	PRIMARY KEY (id)
);
INSERT INTO "verdicts" VALUES(1,'f20000000000','builtin','2026-12-02 11:48:35.371801','{"verdict": "true_positive", "confidence": 0.9, "rationale": "r", "source": "builtin"}','github.com/org/app');
CREATE INDEX ix_findings_scope ON findings (scope);
CREATE INDEX ix_findings_tool ON findings (tool);
CREATE INDEX ix_findings_status ON findings (status);
CREATE INDEX ix_findings_repo ON findings (repo);
CREATE INDEX ix_scans_repo ON scans (repo);
CREATE INDEX ix_scans_content_hash ON scans (content_hash);
CREATE INDEX ix_proposals_state ON proposals (state);
CREATE INDEX ix_proposals_finding_id ON proposals (finding_id);
CREATE INDEX ix_proposals_repo ON proposals (repo);
CREATE UNIQUE INDEX ux_transitions_seq ON transitions (seq);
CREATE INDEX ix_transitions_proposal_id ON transitions (proposal_id);
CREATE INDEX ix_finding_events_finding_id ON finding_events (finding_id);
CREATE INDEX ix_verdicts_repo ON verdicts (repo);
CREATE INDEX ix_verdicts_finding_id ON verdicts (finding_id);
CREATE INDEX ix_outcomes_finding_task_key ON outcomes (finding_id, task, "key");
COMMIT;
