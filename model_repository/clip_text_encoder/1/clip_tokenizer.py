"""CLIP's byte-level BPE tokenizer, from OpenAI's vocabulary file (bpe_simple_vocab_16e6.txt.gz).

The same algorithm as OpenAI's ``simple_tokenizer.py`` and ``clip.tokenize(truncate=True)``: text is
fixed with ftfy, HTML-unescaped twice, whitespace-collapsed and lower-cased, split by CLIP's pattern,
mapped byte-to-unicode and merged by BPE rank; each sequence is <|startoftext|> ... <|endoftext|>,
zero-padded to the context length, or cut to it with <|endoftext|> kept last.

A module of its own, without Triton imports, so the tests can check it against a reference directly.
"""

from __future__ import annotations

import gzip
import html
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

import ftfy
import numpy as np
import regex

# OpenAI's vocabulary: 256 byte symbols, the same with </w>, the first 48894 merges, then SOT and EOT.
MERGES = 49152 - 256 - 2
PATTERN = regex.compile(
    r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
    regex.IGNORECASE,
)
WHITESPACE = regex.compile(r"\s+")


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map of the 256 bytes to printable characters the BPE works on."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    others = [b for b in range(256) if b not in printable]
    return {**{b: chr(b) for b in printable}, **{b: chr(256 + n) for n, b in enumerate(others)}}


class ClipTokenizer:
    def __init__(self, vocabulary: Path) -> None:
        lines = gzip.decompress(vocabulary.read_bytes()).decode("utf-8").split("\n")[1: MERGES + 1]
        merges = [tuple(line.split()) for line in lines]
        symbols = list(bytes_to_unicode().values())
        vocab = [*symbols, *(s + "</w>" for s in symbols), *("".join(m) for m in merges),
                 "<|startoftext|>", "<|endoftext|>"]
        self.encoder = {token: index for index, token in enumerate(vocab)}
        self.ranks = {merge: rank for rank, merge in enumerate(merges)}
        self.byte_encoder = bytes_to_unicode()
        self.sot, self.eot = self.encoder["<|startoftext|>"], self.encoder["<|endoftext|>"]
        self.bpe = lru_cache(maxsize=65536)(self._bpe)

    def _bpe(self, token: str) -> tuple[str, ...]:
        """The BPE symbols of one pre-token (already byte-mapped): merge the best-ranked pair until none is left."""
        word = (*token[:-1], token[-1] + "</w>")
        while len(word) > 1:
            pairs = set(pairwise(word))
            best = min(pairs, key=lambda pair: self.ranks.get(pair, len(self.ranks)))
            if best not in self.ranks:
                break
            merged: list[str] = []
            i = 0
            while i < len(word):
                if i < len(word) - 1 and (word[i], word[i + 1]) == best:
                    merged.append(word[i] + word[i + 1])
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = tuple(merged)
        return word

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``, without SOT/EOT."""
        cleaned = WHITESPACE.sub(" ", html.unescape(html.unescape(ftfy.fix_text(text))).strip()).strip().lower()
        ids = []
        for token in PATTERN.findall(cleaned):
            # OpenAI's tokenizer keeps its special-token strings whole instead of splitting them.
            if token in ("<|startoftext|>", "<|endoftext|>"):
                ids.append(self.encoder[token])
                continue
            mapped = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
            ids += [self.encoder[symbol] for symbol in self.bpe(mapped)]
        return ids

    def tokenize(self, texts: list[str], context_length: int) -> np.ndarray:
        """[N, context_length] int64: SOT, the text's tokens, EOT, zeros; cut to fit with EOT kept last."""
        result = np.zeros((len(texts), context_length), dtype=np.int64)
        for row, text in enumerate(texts):
            tokens = [self.sot, *self.encode(text), self.eot]
            if len(tokens) > context_length:
                tokens = [*tokens[: context_length - 1], self.eot]
            result[row, : len(tokens)] = tokens
        return result
