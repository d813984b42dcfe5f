"""Errors the storage layer raises with a message meant for the user."""


class StoreError(RuntimeError):
    pass


class StoreNotFoundError(StoreError):
    pass


class StoreLockedError(StoreError):
    pass


class ModelMismatchError(StoreError):
    pass
