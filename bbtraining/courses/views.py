from flask import render_template

from . import bp


@bp.route("/")
def home():
    return render_template("courses/home.html")


@bp.route("/courses/")
def catalog():
    return render_template("courses/home.html")
