"""The framework-free engine of Odoo Job Worker: Python and psycopg2, no ``odoo`` import.

Everything that decides which job runs, when, and what happens to it lives here and is
tested against a real PostgreSQL without Odoo. The Odoo addon around it is glue: models,
views, and the transaction that runs a job in an Odoo environment.
"""
