"""Facts about source shared by every stage: each file read and parsed at most once per run (see file_facts)."""
