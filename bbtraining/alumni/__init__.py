from flask import Blueprint

bp = Blueprint("alumni", __name__, url_prefix="/alumni")
