"""Database settings for the billing service."""
import os

DB_USER = "billing"


def dsn(host="db.internal"):
    password = os.environ.get("BILLING_DB_PASSWORD", "")
    return f"postgresql://{DB_USER}:{password}@{host}/billing"
