"""Term banks: a team's words, phrases and regular expressions that evidence a text category of its policy."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field


class TermBank(BaseModel):
    """A team's bank of terms of one text category; every job's OCR lines and speech are matched against the
    team's banks."""

    id: UUID
    name: str
    category: str = Field(description="The text category of the policy its matches evidence")
    description: str
    terms: int = Field(description="Terms in the bank")
    version: int = Field(description="Counts the changes of its terms")
    created_at: datetime
    updated_at: datetime


class TermImport(BaseModel):
    """What an import did: the bank as it is now, and how many of the file's terms were new to it."""

    bank: TermBank
    added: int
    duplicates: int
