"""Interactive login."""
import getpass

PASSWORD_PROMPT = "Password: "


def ask_password():
    return getpass.getpass(PASSWORD_PROMPT)
