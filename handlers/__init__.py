"""aiogram routers only: parse the update, call a service, render a view.

Order matters: feature routers claim their commands and deep-link payloads first; the core
private router's catch-all for unknown /start payloads and the unknown-command fallback come last."""

from __future__ import annotations

from aiogram import Router


def build_router() -> Router:
    from handlers import chat_events, common, core_group, core_private, errors

    root = Router(name="root")
    for router in (errors.router, chat_events.router, *feature_routers(), core_group.router, common.router,
                   core_private.router, common.fallback):
        _attach(root, router)
    return root


def _attach(root: Router, router: Router) -> None:
    """Routers are module-level objects; a process that builds several dispatchers (the tests, the
    benchmarks) re-attaches them to each new root. aiogram refuses a second parent, so the link to
    the previous, discarded root is cut first."""
    router._parent_router = None
    root.include_router(router)


def feature_routers() -> list[Router]:
    """Routers of the feature areas (voting, meetings, assessments...), each one module."""
    from handlers import assessments, pledge
    from handlers import meetings

    routers: list[Router] = []
    routers += [assessments.group, assessments.private, assessments.callbacks]
    routers += [pledge.group, pledge.private, pledge.callbacks]
    routers += [meetings.group, meetings.private, meetings.both, meetings.callbacks]
    from handlers import voting
    routers += [voting.group, voting.private, voting.callbacks]
    return routers
