"""Celery bound to the Flask app: every task runs inside an application context.

The worker is started with `celery -A bbtraining.worker worker`; task modules only use
`shared_task` and never create the app themselves.
"""

from celery import Celery, Task
from flask import Flask


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.import_name, task_cls=FlaskTask)
    celery.config_from_object(app.config["CELERY"])
    celery.conf.beat_schedule = app.config.get("CELERY_BEAT_SCHEDULE", {})
    celery.set_default()
    app.extensions["celery"] = celery

    if celery.conf.broker_url.startswith("sqla+"):
        # kombu hands broker_transport_options to create_engine, so the poll interval must be
        # set on the class; the default 1 s makes every task wait most of a second.
        from kombu.transport import sqlalchemy as kombu_sqla

        kombu_sqla.Transport.polling_interval = 0.1
    return celery
