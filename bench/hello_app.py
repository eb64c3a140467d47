"""The yardstick for bench/load.py: the smallest Flask app, served with the same gunicorn
settings as bbtraining."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello, World!"
