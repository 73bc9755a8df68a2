"""Placeholder; replaced by the real CLI."""
def main() -> None:
    print("suture")
