"""Errors a user can fix. The message is already localized (services call `_()`), so any front
(Telegram, Zalo, sandbox) shows it as is; nothing has been changed when one is raised."""


class UserError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAllowed(UserError):
    """Wrong role or wrong chat."""
