class UserError(RuntimeError):
    """Something the user can fix; the CLI prints it as one line, without a traceback."""
