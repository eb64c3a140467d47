"""Entry point for `celery -A bbtraining.worker worker|beat`."""

from bbtraining import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]
