"""Running jobs in this Odoo process: a job's own transaction, bounded processing of
one database, and the budgets of requests and buttons."""
