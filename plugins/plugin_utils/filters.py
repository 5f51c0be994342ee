"""Shared by the collection's filter plugins: the pure functions of module_utils raise
ValueError on bad input; Ansible shows a filter's failure as AnsibleFilterError."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

from ansible.errors import AnsibleFilterError

_T = TypeVar("_T")


def ansible_filter(func: Callable[..., _T]) -> Callable[..., _T]:
    """Wrap ``func`` so that its ValueError surfaces as AnsibleFilterError."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs) -> _T:
        try:
            return func(*args, **kwargs)
        except ValueError as exc:
            raise AnsibleFilterError(str(exc)) from exc

    return wrapper
