"""Invoices, proposals, certificates and sign-in sheets as PDF bytes, drawn with fpdf2.

One module per document (invoice, proposal, certificate, sign_in_sheet); layout holds what they
share.

Pure functions on plain dataclasses: no database, no other bbtraining modules. Every string a
reader sees goes through Flask-Babel at render time, so call the render functions inside a Flask
app context (or request context) with Flask-Babel initialised; money, numbers and dates follow
the current Flask-Babel locale and timezone. Outside a request (a Celery task) the app's
default locale applies; wrap the call in ``flask_babel.force_locale(lang)`` for another one.

Money is printed, never computed here: a document carries a `PriceTable` whose amounts, VAT
and totals the caller computed (billing's rule, `bookings.billing.amounts.price_table`).

Datetimes should be timezone-aware; naive ones are taken as UTC (Flask-Babel's convention).
"""
