"""English text for the real-text study, as token ids (docs/THEORY.md, "Real text").

WikiText cannot be downloaded here, so the built-in corpora are English prose that every CPython install ships:
``topics``, the help topics of the Python reference (``pydoc_data.topics``, about 82 k tokens), and
``docstrings``, the standard library's module, class and function docstrings (tests skipped; about 300 k tokens,
read once per process).  A user's own UTF-8 ``.txt``/``.md`` file (or a train/validation pair) becomes a corpus
through :func:`register_upload`, which checks it and says what is wrong in the words of :class:`UploadError`.

Tokens come from a basic-English tokeniser (lower case; ``. , ( ) ! ?`` and the apostrophe split off; quotes,
``; :`` and ``<br />`` dropped; split on white space).  A corpus keeps each word's id in order of first appearance
(``pandas.factorize``, vectorised) and the training words' counts; :meth:`Corpus.encode` maps them to a top-k
vocabulary plus ``<unk>`` (id 0) with one array lookup.  Built-in corpora and uploads split into a contiguous 90 %
training and 10 % validation part unless a validation file is given.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import re
import sysconfig
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..lab.fields import ConfigError

__all__ = ["BUILTIN", "Corpus", "MAX_UPLOAD_BYTES", "MIN_TOKENS", "UNK", "UploadError", "corpus", "is_corpus",
           "register_upload", "tokenize", "upload_files"]

UNK = "<unk>"
MAX_UPLOAD_BYTES = 20 * 2**20
MIN_TOKENS = 20_000  # training tokens of an upload (or of a whole single file before the split)
MIN_VALIDATION_TOKENS = 2_000
VALIDATION_FRACTION = 0.1
#: built-in corpus name -> what it is, for the page and --help
BUILTIN = {"topics": "Python's help topics (pydoc_data.topics): 79 essays of reference prose, about 82 k tokens",
           "docstrings": "the standard library's docstrings (tests skipped): about 300 k tokens, read in a few "
                         "seconds on first use"}
UPLOAD_PREFIX = "upload-"

# the basic-English rules: (pattern, replacement), applied in order to the lower-cased text
_RULES = [(re.compile(p), r) for p, r in ((r"'", " '  "), (r'"', ""), (r"\.", " . "), (r"<br \/>", " "),
                                          (r",", " , "), (r"\(", " ( "), (r"\)", " ) "), (r"!", " ! "),
                                          (r"\?", " ? "), (r";", " "), (r":", " "))]


def tokenize(text: str) -> list[str]:
    """Basic-English tokens of ``text`` (see the module docstring)."""
    text = text.lower()
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text.split()


class UploadError(ConfigError):
    """An uploaded text cannot be used; the message names the file, what is wrong and what is allowed."""

    def __init__(self, message: str):
        ValueError.__init__(self, message)
        self.field, self.value, self.allowed = "text file", None, message


def _tokens(n: int) -> str:
    return f"{n:,} token{'' if n == 1 else 's'}"


@dataclass(frozen=True, eq=False)  # compared and hashed by identity (encode's cache)
class Corpus:
    """A tokenised corpus: ``words`` (each distinct word once), the training and validation text as indices into
    ``words``, and the training count of each word."""

    name: str
    words: np.ndarray  # object [distinct words]
    train_codes: np.ndarray  # int32 [training tokens]
    val_codes: np.ndarray  # int32 [validation tokens]
    counts: np.ndarray  # int64 [distinct words]: occurrences in the training part
    files: tuple[str, ...] = ()  # an upload's file names: the text (and the validation text)

    @property
    def tokens_train(self) -> int:
        return int(self.train_codes.size)

    @property
    def tokens_val(self) -> int:
        return int(self.val_codes.size)

    @functools.lru_cache(maxsize=4)
    def encode(self, vocab: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(training ids, validation ids, the vocabulary): the ``vocab − 1`` most frequent training words get
        ids 1… in order of frequency (ties: first appearance), everything else is ``<unk>`` (id 0)."""
        counts = np.where(self.words == UNK, 0, self.counts)  # a literal <unk> in the text is the unknown word
        order = np.argsort(-counts, kind="stable")[: vocab - 1]
        order = order[counts[order] > 0]  # a word seen only in validation stays unknown
        ids = np.zeros(self.words.size, dtype=np.int64)
        ids[order] = np.arange(1, order.size + 1)
        vocabulary = np.concatenate([[UNK], self.words[order]])
        return ids[self.train_codes], ids[self.val_codes], vocabulary


def _build(name: str, train_words: list[str], val_words: list[str] | None,
           files: tuple[str, ...] = ()) -> Corpus:
    if val_words is None:
        cut = int(round(len(train_words) * (1 - VALIDATION_FRACTION)))
        train_words, val_words = train_words[:cut], train_words[cut:]
    codes, words = pd.factorize(pd.Series(train_words + val_words, dtype=object), sort=False)
    codes = codes.astype(np.int32)
    train_codes, val_codes = codes[: len(train_words)], codes[len(train_words):]
    counts = np.bincount(train_codes, minlength=len(words)).astype(np.int64)
    return Corpus(name, np.asarray(words, dtype=object), train_codes, val_codes, counts, files)


@functools.lru_cache(maxsize=None)
def _builtin(name: str) -> Corpus:
    if name == "topics":
        from pydoc_data.topics import topics

        text = "\n\n".join(topics[key] for key in sorted(topics))
    else:
        text = "\n\n".join(_stdlib_docstrings())
    return _build(name, tokenize(text), None)


def _stdlib_docstrings() -> list[str]:
    """Every module, class and function docstring of the standard library's own ``.py`` files (sorted paths;
    test packages, ``site-packages`` and files that do not parse are skipped)."""
    root = Path(sysconfig.get_paths()["stdlib"])
    texts = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        if any(p in ("test", "tests", "site-packages", "idle_test") or p.startswith("test_") for p in parts):
            continue
        try:
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError, OSError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                if doc:
                    texts.append(doc)
    return texts


# ---------------------------------------------------------------------------------------------------- uploads
_UPLOADS: "OrderedDict[str, Corpus]" = OrderedDict()
_FILE_NAMES: "OrderedDict[str, tuple[str, ...]]" = OrderedDict()  # every upload's file names, also once let go of
_UPLOADS_LOCK = threading.Lock()
MAX_UPLOADS = 8  # the server keeps this many uploaded corpora (least recently used go first)


def _decode(file_name: str, data: bytes) -> str:
    if not data.strip():
        raise UploadError(f"{file_name} is empty: give UTF-8 English text of at least {MIN_TOKENS:,} tokens")
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(f"{file_name} is {len(data) / 2**20:.1f} MB: at most {MAX_UPLOAD_BYTES // 2**20} MB "
                          "of text is allowed")
    if b"\x00" in data:
        raise UploadError(f"{file_name} looks binary (it contains NUL bytes): give a UTF-8 .txt or .md file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise UploadError(f"{file_name} is not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start:,} "
                          "cannot be decoded): save it as UTF-8 and try again") from None


def register_upload(file_name: str, data: bytes, val_name: str | None = None, val_data: bytes | None = None) -> str:
    """Check and tokenise an uploaded text (and its validation file, if given); its corpus name
    (``upload-<hash>``), usable in a config for as long as the server keeps it.  :class:`UploadError` otherwise."""
    train_words = tokenize(_decode(file_name, data))
    val_name = val_name or "the validation file"
    val_words = None if val_data is None else tokenize(_decode(val_name, val_data))
    needed = MIN_TOKENS if val_words is not None else int(MIN_TOKENS / (1 - VALIDATION_FRACTION))
    if len(train_words) < needed:
        raise UploadError(f"{file_name} has {_tokens(len(train_words))}: at least {needed:,} are needed "
                          f"{'to train on' if val_words is not None else 'for a 90 % / 10 % split'}")
    if val_words is not None and len(val_words) < MIN_VALIDATION_TOKENS:
        raise UploadError(f"{val_name} has {_tokens(len(val_words))}: a validation file needs at least "
                          f"{MIN_VALIDATION_TOKENS:,}")
    digest = hashlib.sha256("\x00".join((file_name, val_name)).encode() + b"\x00" + data + b"\x00"
                            + (val_data or b"")).hexdigest()[:12]  # the same text under another name: its own entry
    name = UPLOAD_PREFIX + digest
    with _UPLOADS_LOCK:
        if name not in _UPLOADS:
            files = (file_name,) + ((val_name,) if val_words is not None else ())
            _UPLOADS[name] = _build(name, train_words, val_words, files)
            _FILE_NAMES[name] = files
            while len(_FILE_NAMES) > 100 * MAX_UPLOADS:
                _FILE_NAMES.popitem(last=False)
        _UPLOADS.move_to_end(name)
        while len(_UPLOADS) > MAX_UPLOADS:
            _UPLOADS.popitem(last=False)
    return name


def upload_files(name: str) -> tuple[str, ...]:
    """The file names an upload was made from (also after the server has let go of it); () if unknown."""
    with _UPLOADS_LOCK:
        return _FILE_NAMES.get(name, ())


def is_corpus(name: str) -> bool:
    """Whether ``name`` is a built-in corpus or an upload the server still keeps."""
    with _UPLOADS_LOCK:
        return name in BUILTIN or name in _UPLOADS


def corpus(name: str) -> Corpus:
    """The corpus called ``name`` (ConfigError naming it if the server does not have it, e.g. an upload it has let
    go of)."""
    if name in BUILTIN:
        return _builtin(name)
    with _UPLOADS_LOCK:
        if name in _UPLOADS:
            _UPLOADS.move_to_end(name)
            return _UPLOADS[name]
    raise ConfigError("corpus", name, f"{' or '.join(repr(k) for k in BUILTIN)}, or a file uploaded to this server "
                                      f"(it keeps the {MAX_UPLOADS} most recent uploads while it runs: upload the "
                                      "file again)")
