"""What validation says about a blueprint's webhook triggers.

Shape is :mod:`app.automation_spec`'s; meaning is checked here, each problem at
``triggers[<name>].<field>``: a signed or path-token webhook needs the NAME of the
secret holding its key (without one it could only ever answer 503), and two webhooks
of one blueprint cannot share a route.
"""

from __future__ import annotations

from app.automation_spec import WebhookAuth, WebhookTrigger
from app.blueprint import Blueprint
from app.errors import Problem


def webhook_problems(blueprint: Blueprint) -> list[Problem]:
    """Every problem of the blueprint's webhook triggers (empty when none)."""
    problems: list[Problem] = []
    routes: dict[str, str] = {}
    for trigger in blueprint.triggers:
        if not isinstance(trigger, WebhookTrigger):
            continue
        where = f"triggers[{trigger.name}]"
        if trigger.auth in (WebhookAuth.HMAC, WebhookAuth.PATH_TOKEN) and not trigger.secret:
            problems.append(
                Problem(
                    where=f"{where}.secret",
                    message=f"auth {trigger.auth.value} needs secret: the NAME of the secret "
                    "holding the key (conductor secrets set NAME)",
                    code="missing",
                )
            )
        route = trigger.path or trigger.name
        other = routes.setdefault(route, trigger.name)
        if other != trigger.name:
            problems.append(
                Problem(
                    where=f"{where}.path",
                    message=f"webhook {other!r} answers /v1/hooks/{blueprint.id}/{route} already",
                    code="duplicate",
                )
            )
    return problems
