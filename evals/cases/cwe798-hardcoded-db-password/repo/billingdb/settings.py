"""Database settings for the billing service."""
DB_USER = "billing"
DB_PASSWORD = "Tr0ub4dor-prod-2024"


def dsn(host="db.internal"):
    return f"postgresql://{DB_USER}:{DB_PASSWORD}@{host}/billing"
