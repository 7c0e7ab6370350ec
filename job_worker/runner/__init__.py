"""The embedded runner in Odoo's processes: the server hooks that start it, the
process's runner, the databases it serves, and its status."""
