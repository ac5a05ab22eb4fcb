"""The gateway's services: the work behind the routes, for the single and the batch endpoints alike. A route
translates HTTP (parameters, status codes, headers) and calls one; a service does the work, in one transaction where
it must, and says no by raising ``Refusal`` (``gateway/refusals.py``)."""
