"""Errors the storage layer raises with a message meant for the user."""


class StoreError(RuntimeError):
    pass


class StoreNotFoundError(StoreError):
    pass


class StoreLockedError(StoreError):
    pass


class ModelMismatchError(StoreError):
    pass


class StoreWriteError(StoreError):
    """The data directory refused a write (disk full, read-only, permission): the index is as before."""

    def __init__(self, data_dir, why: str):
        super().__init__(
            f"Cannot write to the data directory {data_dir}: {why}. Everything written before this "
            f"point is intact and can still be searched; free some space or make the directory "
            f"writable, then run the same `rsclip index` again to continue where it stopped."
        )
        self.why = why
