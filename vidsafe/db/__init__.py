"""Postgres access: versioned migrations and the queries the gateway, workers and UI share."""
