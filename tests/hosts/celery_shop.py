"""The simple_shop host with a Celery app, set up the way Flask's "Background Tasks with
Celery" pattern shows (tasks run inside ``app.app_context()``), running kuroneko's bulk jobs.

The Celery worker of tests/test_jobs_celery.py starts from here:

    KURONEKO_CELERY_DB=… KURONEKO_CELERY_STATE=… KURONEKO_CELERY_QUEUE=… \\
        celery -A hosts.celery_shop worker …

and the test process builds the same Celery app with :func:`make_celery` to hand jobs over.
"""
from __future__ import annotations

import os

from celery import Celery, Task
from flask import Flask

from hosts import simple_shop

BROKER = os.environ.get("KURONEKO_CELERY_BROKER", "redis://127.0.0.1:6379/0")


def make_celery(app: Flask, queue: str) -> Celery:
    """Flask's ``celery_init_app``: every task runs in an app context of ``app``."""

    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.conf.update(broker_url=BROKER, task_ignore_result=True, task_default_queue=queue,
                           broker_connection_retry_on_startup=True, task_acks_late=True,
                           worker_prefetch_multiplier=1, worker_hijack_root_logger=False)
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app


def create_worker_app() -> Flask:
    app = simple_shop.create_app(os.environ["KURONEKO_CELERY_DB"],
                                 KURONEKO_SANDBOX_STATE=os.environ["KURONEKO_CELERY_STATE"],
                                 KURONEKO_JOBS_CHUNK_SIZE=int(os.environ.get(
                                     "KURONEKO_CELERY_CHUNK", "3")))
    return app


if os.environ.get("KURONEKO_CELERY_DB"):
    flask_app = create_worker_app()
    celery = make_celery(flask_app, os.environ["KURONEKO_CELERY_QUEUE"])
    simple_shop.kuroneko.init_celery(celery)
