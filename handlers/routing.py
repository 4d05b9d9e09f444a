"""Router factories: handlers are declared once at import, a fresh aiogram Router is built per
Dispatcher (the tests and the benchmarks build many), so no router ever needs a second parent.

    routes = Routes("meetings_group", message=IN_GROUP)

    @routes.message(Command("meeting"))
    async def cmd_meeting(message: Message, ...): ...

    def router() -> Router:
        return routes.build()

`Routes` records `(observer, filters, handler)` and `build()` registers them on a new Router with
aiogram's own `observer.register`, in declaration order, with the observer-wide filters given as
keywords (`message=IN_GROUP` is `router.message.filter(IN_GROUP)`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiogram import Router

OBSERVERS = ("message", "edited_message", "callback_query", "my_chat_member", "chat_member", "errors", "error",
             "inline_query", "channel_post")


class Routes:
    def __init__(self, name: str, **observer_filters: Any) -> None:
        unknown = set(observer_filters) - set(OBSERVERS)
        if unknown:
            raise ValueError(f"unknown observers {sorted(unknown)}")
        self.name = name
        self._observer_filters = observer_filters
        self._handlers: list[tuple[str, tuple, dict, Callable]] = []

    def _decorator(self, observer: str, filters: tuple, kwargs: dict) -> Callable[[Callable], Callable]:
        def register(handler: Callable) -> Callable:
            self._handlers.append((observer, filters, kwargs, handler))
            return handler

        return register

    def message(self, *filters: Any, **kwargs: Any):
        return self._decorator("message", filters, kwargs)

    def callback_query(self, *filters: Any, **kwargs: Any):
        return self._decorator("callback_query", filters, kwargs)

    def my_chat_member(self, *filters: Any, **kwargs: Any):
        return self._decorator("my_chat_member", filters, kwargs)

    def chat_member(self, *filters: Any, **kwargs: Any):
        return self._decorator("chat_member", filters, kwargs)

    def error(self, *filters: Any, **kwargs: Any):
        return self._decorator("errors", filters, kwargs)

    def build(self) -> Router:
        router = Router(name=self.name)
        for observer, flt in self._observer_filters.items():
            getattr(router, "errors" if observer == "error" else observer).filter(flt)
        for observer, filters, kwargs, handler in self._handlers:
            getattr(router, observer).register(handler, *filters, **kwargs)
        return router


def combine(name: str, *children: Router) -> Router:
    """One router holding several (a feature's group, private and callback routers), in order."""
    router = Router(name=name)
    router.include_routers(*children)
    return router
