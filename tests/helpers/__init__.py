"""What the tests of more than one tier share: helpers, references, generated media, and fixtures (registered in
tests/conftest.py). No test lives here."""
