"""The statistical layer: a first-level category model trained on real citizen messages.

Chinese text is segmented with jieba (jieba-rs through `rjieba`: the same algorithm and
dictionary as the Python package, compiled; its dictionary extended with the matter keywords and
the unit names of the lists), then TF-IDF over words (1-2 grams), characters (1-3 grams) and the
characters of the lead (the title of a message written as title。text, weighed at 0.5) feeds an
NB-SVM (linear SVMs over features scaled by each class's log-count ratio; one linear model in
the end) whose scores are calibrated into probabilities (isotonic regression per class on 5-fold
cross-validated scores, normalised).

Training uses scikit-learn; classifying does not: the fitted vocabularies, idf weights, SVM
coefficients and isotonic steps are kept as plain arrays and applied directly (the same figures as
scikit-learn's transform and predict_proba within 1e-9, which a test checks), because
scikit-learn's per-call validation costs more than the arithmetic for one demand. Many texts
are weighed at once (the service classifies a polled batch of demands in one call): their terms
are looked up in one pass per block and summed by one sparse product.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import pickle
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from pathlib import Path
from typing import Any

import numpy as np
import rjieba
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import GroupShuffleSplit
from sklearn.svm import LinearSVC

from contracts.lists import Lists

TRAINING_DATA = Path(__file__).parent / "training" / "messages_labelled.csv"
# Operators' triage decisions exported by `liandong model export-labelled` (same columns): `make
# model` trains on them too. A category needs MIN_CLASS_EXAMPLES messages to be learnt (the
# calibration's folds need several of each); rarer ones are left out, and said so.
OPERATOR_DATA = "operator-*.csv"
OPERATOR_SOURCE = "operator"  # their `text_source`, beside the labelled data's exact / fuzzy / …
MIN_CLASS_EXAMPLES = 20
DEFAULT_ARTIFACT = Path(__file__).parent / "artifacts" / "category-model.pkl.gz"
MAX_CHARS = 2000  # longer texts are cut here (and flagged) before segmentation
CHUNK = 500  # texts weighed together at most (a poll brings up to 500 demands)
LEAD_CHARS = 40  # a title: 19 characters at the median of the training data, 26 at the 90th
LEAD_WEIGHT = 0.5  # the lead's character block next to the whole text's (chosen by GroupKFold)
PARAMS: dict[str, Any] = {
    "word_ngrams": (1, 2),
    "char_ngrams": (1, 3),
    "C": 0.5,
    "classifier": "nb-svm",
    "nb_alpha": 1.0,
    "lead_weight": LEAD_WEIGHT,
    "lead_chars": LEAD_CHARS,
    "calibration": "isotonic",  # per class, normalised (GroupKFold: better than sigmoid/softmax)
    "calibration_folds": 5,
    "calibration_ensemble": False,
    "seed": 7,
    "segmenter": "rjieba-0.2.2",
}

_ANON = re.compile(r"[A-Z]\d*[市区县]|[A-Z]\d+|\d+|\s+")


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    label: str
    group: str  # near-duplicates share a group, so a split never puts them on both sides


def read_examples(path: Path = TRAINING_DATA) -> list[Example]:
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    # The same complaint filed for two districts differs only in anonymised place names and
    # numbers: the title without them identifies a group. The text was joined to many titles by
    # similarity (`text_source` fuzzy), and one text often went to several differently worded
    # titles of one complaint: rows whose texts begin alike (first 60 characters, place names and
    # numbers removed) are one group too, and groups sharing a member are merged.
    parent = list(range(len(rows)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    titles = [_ANON.sub("", row["title"])[:30] for row in rows]
    first: dict[str, int] = {}
    for i, row in enumerate(rows):
        body = _ANON.sub("", row["text"])[:60]
        for key in (f"title:{titles[i]}", f"text:{body}" if body else ""):
            if key:
                parent[root(i)] = root(first.setdefault(key, i))
    return [
        Example(text=_classified_text(row), label=row["label"], group=titles[root(i)])
        for i, row in enumerate(rows)
    ]


def _classified_text(row: dict[str, str]) -> str:
    """A message as the model learns it: title。text; an operator's decision (a demand's
    content, which has no title) as its text alone, as the service classifies it. The labelled
    messages without a title stay `。text`, as the model was chosen and evaluated (as the text
    alone they moved the held-out figures and the probabilities of some categories)."""
    if row.get("text_source") == OPERATOR_SOURCE:
        return row["text"]
    return f"{row['title']}。{row['text']}"


def training_files(data: Path = TRAINING_DATA) -> list[Path]:
    """The labelled messages and the operators' exported decisions beside them."""
    return [data, *sorted(data.parent.glob(OPERATOR_DATA))]


def training_examples(files: Sequence[Path]) -> tuple[list[Example], dict[str, int]]:
    """Every example of the files, less those of categories with fewer than
    MIN_CLASS_EXAMPLES in all (returned with their counts)."""
    examples = [e for path in files for e in read_examples(path)]
    counts: dict[str, int] = {}
    for example in examples:
        counts[example.label] = counts.get(example.label, 0) + 1
    rare = {label: n for label, n in counts.items() if n < MIN_CLASS_EXAMPLES}
    return [e for e in examples if e.label not in rare], rare


def split(
    examples: Sequence[Example], *, test_size: float = 0.2, seed: int = 7
) -> tuple[list[int], list[int]]:
    """Held-out split by near-duplicate group: no group is on both sides."""
    splitter = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
    train, test = next(splitter.split(examples, groups=[e.group for e in examples]))
    return list(train), list(test)


def data_version(*paths: Path) -> str:
    """`category-<hash>` of the training files and the parameters: the same inputs, the same
    version."""
    digest = hashlib.sha256()
    for path in paths or (TRAINING_DATA,):
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(json.dumps(PARAMS, sort_keys=True).encode())
    return f"category-{digest.hexdigest()[:12]}"


class Segmenter:
    """jieba with the lists' own words, so 违章搭建 or 织里镇 stay one token. The dictionary is
    loaded once, when the segmenter is built."""

    def __init__(self, words: Iterable[str]) -> None:
        self._jieba = rjieba.Jieba()
        for word in words:
            self._jieba.add_word(word, 2000, None)

    def tokens(self, text: str) -> list[str]:
        """The words of the text as the word vectorizer sees them (no whitespace tokens)."""
        text = text[:MAX_CHARS]
        try:
            words = self._jieba.cut(text)
        except UnicodeEncodeError:  # a lone surrogate: jieba-rs takes UTF-8 only
            words = self._jieba.cut(text.encode("utf-8", "replace").decode("utf-8"))
        return " ".join(words).split()

    def __call__(self, text: str) -> str:
        return " ".join(self.tokens(text))


_WHITESPACE_RUN = re.compile(r"\s\s+")  # scikit-learn's char analyzer folds these into one space


def _char_keys(text: str) -> np.ndarray:
    """Every character 1-, 2- and 3-gram of the text as one int64: the code points plus one,
    in 21-bit fields from the top (a shorter gram leaves its lower fields zero)."""
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    shifted = codes.astype(np.int64) + 1
    firsts = shifted << 42
    pairs = firsts[:-1] | (shifted[1:] << 21)
    triples = pairs[:-1] | shifted[2:]
    keys: np.ndarray = np.concatenate((firsts, pairs, triples))
    return keys


def _gram_keys(grams: Sequence[str]) -> np.ndarray:
    """The key `_char_keys` gives each of these grams (of one to three characters)."""
    keys = np.zeros(len(grams), dtype=np.int64)
    lengths = np.fromiter(map(len, grams), dtype=np.int64, count=len(grams))
    if len(grams) and not 1 <= lengths.min() <= lengths.max() <= 3:
        raise ValueError("character grams have one to three characters")
    for n in (1, 2, 3):
        chosen = np.flatnonzero(lengths == n)
        joined = "".join([grams[i] for i in chosen.tolist()]).encode("utf-32-le", "surrogatepass")
        codes = np.frombuffer(joined, dtype=np.uint32).reshape(-1, n).astype(np.int64) + 1
        for field, shift in enumerate((42, 21, 0)[:n]):
            keys[chosen] |= codes[:, field] << shift
    return keys


def _sorted_keys(
    keys: Iterable[int] | np.ndarray, columns: Iterable[int], count: int
) -> tuple[np.ndarray, np.ndarray]:
    """Integer keys, sorted, with the column of each: a table for `_lookup`."""
    if isinstance(keys, np.ndarray):
        key_array = keys.astype(np.int64, copy=False)
    else:
        key_array = np.fromiter(keys, dtype=np.int64, count=count)
    column_array = np.fromiter(columns, dtype=np.int64, count=count)
    order = np.argsort(key_array, kind="stable")
    return key_array[order], column_array[order]


def _lookup(
    keys: np.ndarray, columns: np.ndarray, wanted: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The columns of those wanted keys that the sorted keys have, and which those are (the
    search is quickest when the wanted keys come in ascending runs)."""
    if not len(wanted) or not len(keys):
        return np.empty(0, dtype=np.int64), np.zeros(len(wanted), dtype=bool)
    found = np.searchsorted(keys, wanted)
    found[found == len(keys)] = 0
    known = keys[found] == wanted
    return columns[found[known]], known


def _tfidf(
    rows: np.ndarray, columns: np.ndarray, counts: np.ndarray, idf: np.ndarray, texts: int
) -> np.ndarray:
    """The values of one block's terms (each text's row, column and count): sublinear tf times
    idf, each text's row L2-normalised, as the fitted TfidfVectorizer computes."""
    values: np.ndarray = (np.log(counts) + 1.0) * idf[columns]
    norms = np.sqrt(np.bincount(rows, weights=values * values, minlength=texts))
    values /= norms[rows]  # a text without terms has no entry here to divide
    return values


def lists_words(lists: Lists) -> list[str]:
    words = {k for m in lists.matters for k in m.keywords}
    words |= {u.name for u in lists.units}
    return sorted(words)


class NBLinearSVC(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """One-vs-rest linear SVMs over features scaled by each class's log-count ratio (NB-SVM,
    Wang and Manning 2012).

    For each class, r = log((p / |p|_1) / (q / |q|_1)), where p is alpha plus the number of that
    class's messages that have the feature and q the same over the other messages; a binary
    linear SVM is trained on the features times r. Its score (x * r) . w + b = x . (r * w) + b is
    linear in x, so `coef_` (r * w for each class) and `intercept_` are applied like any linear
    model's: inference costs what a plain linear SVM's does.
    """

    def __init__(self, C: float = 0.5, alpha: float = 1.0, random_state: int | None = None):
        self.C = C
        self.alpha = alpha
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> NBLinearSVC:
        features = sparse.csr_matrix(X, dtype=np.float64)
        labels = np.asarray(y)
        self.classes_ = np.unique(labels)
        present = features.copy()
        present.data = (present.data != 0).astype(np.float64)
        coef = np.zeros((len(self.classes_), features.shape[1]))
        intercept = np.zeros(len(self.classes_))
        for k, name in enumerate(self.classes_):
            mine = labels == name
            p = self.alpha + np.asarray(present[mine].sum(axis=0)).ravel()
            q = self.alpha + np.asarray(present[~mine].sum(axis=0)).ravel()
            ratio = np.log((p / p.sum()) / (q / q.sum()))
            scaled = features.copy()
            scaled.data *= ratio[scaled.indices]
            svm = LinearSVC(C=self.C, random_state=self.random_state)
            svm.fit(scaled, mine)
            coef[k] = ratio * svm.coef_.ravel()
            intercept[k] = svm.intercept_[0]
        self.coef_ = coef
        self.intercept_ = intercept
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        scores: np.ndarray = np.asarray(X @ self.coef_.T) + self.intercept_
        return scores

    def predict(self, X: Any) -> np.ndarray:
        predicted: np.ndarray = self.classes_[self.decision_function(X).argmax(axis=1)]
        return predicted


def lead(text: str) -> str:
    """The text's lead: up to its first 。, at most LEAD_CHARS characters. For a message
    written as title。text, the title; short and to the point, so weighed on its own too."""
    return text.partition("。")[0][:LEAD_CHARS]


class _CharGrams:
    """A fitted character TF-IDF vectorizer as a sorted table of integer gram keys."""

    def __init__(self, vectorizer: TfidfVectorizer, offset: int, weight: float = 1.0) -> None:
        vocabulary: dict[str, int] = vectorizer.vocabulary_
        self.keys, self.columns = _sorted_keys(
            _gram_keys(list(vocabulary.keys())), vocabulary.values(), len(vocabulary)
        )
        self.offset = offset  # the block's place among all the features
        self.idf = np.asarray(vectorizer.idf_, dtype=np.float64)
        self.lowercase = bool(vectorizer.lowercase)
        self.weight = weight

    def block(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The block's entries for these texts (as its vectorizer computes them, times the
        block's weight): rows, feature columns, values."""
        counted = [
            np.unique(
                _char_keys(_WHITESPACE_RUN.sub(" ", text.lower() if self.lowercase else text)),
                return_counts=True,
            )
            for text in texts
        ]
        lengths = np.fromiter((len(keys) for keys, _ in counted), dtype=np.int64, count=len(texts))
        rows = np.repeat(np.arange(len(texts)), lengths)
        keys = np.concatenate([keys for keys, _ in counted])
        counts = np.concatenate([counts for _, counts in counted])
        columns, known = _lookup(self.keys, self.columns, keys)  # ascending text by text
        values = _tfidf(rows[known], columns, counts[known], self.idf, len(texts))
        if self.weight != 1.0:
            values *= self.weight
        return rows[known], columns + self.offset, values


class CategoryModel:
    def __init__(
        self,
        *,
        version: str,
        words: TfidfVectorizer,
        chars: TfidfVectorizer,
        leads: TfidfVectorizer,
        classifier: Any,
    ) -> None:
        self.version = version
        self.words = words
        self.chars = chars
        self.leads = leads
        self.classifier = classifier
        self.classes: list[str] = [str(c) for c in classifier.classes_]
        # The fitted vectorizers and the calibrated SVM as plain arrays (see the module's note).
        calibrated = classifier.calibrated_classifiers_[0]
        # One row of class weights per feature, contiguous: a text gathers the rows it has.
        self._weights = np.ascontiguousarray(calibrated.estimator.coef_.T, dtype=np.float64)
        self._intercept = np.asarray(calibrated.estimator.intercept_, dtype=np.float64)
        # Each class's isotonic calibrator: its scores are clipped to the fitted range, then
        # interpolated linearly between the steps (what IsotonicRegression.predict does).
        self._steps = [
            (
                float(c.X_min_),
                float(c.X_max_),
                np.asarray(c.X_thresholds_, dtype=np.float64),
                np.asarray(c.y_thresholds_, dtype=np.float64),
            )
            for c in calibrated.calibrators
        ]
        # The vocabularies as plain lookups: words by string, character grams by their integer
        # key (sorted, for a vectorised binary search of all the grams of a text at once).
        # A word bigram is keyed by the columns of its two words (both are in the vocabulary: a
        # bigram seen in two messages means its words were too).
        vocabulary: dict[str, int] = words.vocabulary_
        self._word_span = len(vocabulary)
        self._word_columns = {t: int(c) for t, c in vocabulary.items() if " " not in t}
        bigrams = [t for t in vocabulary if " " in t]
        halves = [t.partition(" ") for t in bigrams]
        firsts = np.fromiter(
            map(self._word_columns.__getitem__, (h[0] for h in halves)), dtype=np.int64
        )
        seconds = np.fromiter(
            map(self._word_columns.__getitem__, (h[2] for h in halves)), dtype=np.int64
        )
        self._bigram_keys, self._bigram_columns = _sorted_keys(
            firsts * self._word_span + seconds, map(vocabulary.__getitem__, bigrams), len(bigrams)
        )
        self._word_idf = np.asarray(words.idf_, dtype=np.float64)
        # The three blocks side by side: words, characters of the text, characters of the lead.
        self._chars = _CharGrams(chars, self._word_span)
        self._leads = _CharGrams(leads, self._word_span + len(chars.vocabulary_), LEAD_WEIGHT)

    @staticmethod
    def _features(
        words: TfidfVectorizer,
        chars: TfidfVectorizer,
        leads: TfidfVectorizer,
        texts: Sequence[str],
        segmenter: Segmenter,
        *,
        fit: bool,
    ) -> sparse.csr_matrix:
        clipped = [t[:MAX_CHARS] for t in texts]
        segmented = [segmenter(t) for t in clipped]
        heads = [lead(t) for t in clipped]
        if fit:
            blocks = [words.fit_transform(segmented), chars.fit_transform(clipped)]
            blocks.append(leads.fit_transform(heads) * LEAD_WEIGHT)
        else:
            blocks = [words.transform(segmented), chars.transform(clipped)]
            blocks.append(leads.transform(heads) * LEAD_WEIGHT)
        return sparse.hstack(blocks).tocsr()

    @classmethod
    def train(
        cls, texts: Sequence[str], labels: Sequence[str], segmenter: Segmenter, *, version: str
    ) -> CategoryModel:
        words = TfidfVectorizer(
            token_pattern=r"\S+",  # noqa: S106 - a regex, not a password
            lowercase=False,
            ngram_range=PARAMS["word_ngrams"],
            min_df=2,
            sublinear_tf=True,
        )
        chars = TfidfVectorizer(
            analyzer="char",
            ngram_range=PARAMS["char_ngrams"],
            min_df=2,
            sublinear_tf=True,
            max_features=300_000,
        )
        leads = TfidfVectorizer(
            analyzer="char", ngram_range=PARAMS["char_ngrams"], min_df=2, sublinear_tf=True
        )
        features = cls._features(words, chars, leads, texts, segmenter, fit=True)
        # ensemble=False: one NB-SVM on all data, calibrated on cross-validated scores (a small
        # artifact: one weight matrix instead of one per fold).
        classifier = CalibratedClassifierCV(
            NBLinearSVC(C=PARAMS["C"], alpha=PARAMS["nb_alpha"], random_state=PARAMS["seed"]),
            method=PARAMS["calibration"],
            cv=PARAMS["calibration_folds"],
            ensemble=PARAMS["calibration_ensemble"],
            n_jobs=2,  # the five calibration folds two at a time (CI and the image build: 2 cores)
        )
        classifier.fit(features, list(labels))
        # The pruned vocabulary is only kept for introspection; it is most of the artifact's size.
        words.stop_words_ = None
        chars.stop_words_ = None
        leads.stop_words_ = None
        return cls(version=version, words=words, chars=chars, leads=leads, classifier=classifier)

    def _words(
        self, texts: Sequence[str], segmenter: Segmenter
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The word block's entries for these texts: unigrams and bigrams of jieba's words."""
        tokens = [segmenter.tokens(text) for text in texts]
        lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
        columns = np.fromiter(
            map(self._word_columns.get, chain.from_iterable(tokens), repeat(-1)),
            dtype=np.int64,
            count=int(lengths.sum()),
        )
        rows = np.repeat(np.arange(len(texts)), lengths)
        known = columns >= 0
        span = self._word_span
        unigrams, unigram_counts = np.unique(
            rows[known] * span + columns[known], return_counts=True
        )
        # A bigram: two known words next to each other in one text, keyed by both columns.
        paired = known[:-1] & known[1:] & (rows[:-1] == rows[1:])
        pair_cells = (rows[:-1][paired] * span + columns[:-1][paired]) * span + columns[1:][paired]
        pairs, pair_counts = np.unique(pair_cells, return_counts=True)
        pair_rows, pair_keys = np.divmod(pairs, span * span)
        bigram_columns, found = _lookup(self._bigram_keys, self._bigram_columns, pair_keys)
        # A unigram and a bigram are different terms: the two sets of columns do not meet.
        rows = np.concatenate((unigrams // span, pair_rows[found]))
        columns = np.concatenate((unigrams % span, bigram_columns))
        counts = np.concatenate((unigram_counts, pair_counts[found]))
        return rows, columns, _tfidf(rows, columns, counts, self._word_idf, len(texts))

    def _decisions(self, texts: Sequence[str], segmenter: Segmenter) -> np.ndarray:
        """The SVM's decision values for (clipped) texts: the three blocks' entries of all the
        texts as one sparse matrix, times the weights (each block normalised on its own, as the
        training features are)."""
        blocks = (
            self._words(texts, segmenter),
            self._chars.block(texts),
            self._leads.block([lead(text) for text in texts]),
        )
        rows, columns, values = (np.concatenate(part) for part in zip(*blocks, strict=True))
        if len(texts) == 1:  # a plain dot product: no sparse matrix to build for one row
            sums = (values @ self._weights.take(columns, axis=0)).reshape(1, -1)
        else:
            shape = (len(texts), len(self._weights))
            sums = sparse.coo_matrix((values, (rows, columns)), shape=shape) @ self._weights
        decision: np.ndarray = sums + self._intercept
        return decision

    def probabilities(self, texts: Sequence[str], segmenter: Segmenter) -> np.ndarray:
        """Each text's class probabilities, weighed CHUNK texts at a time (memory stays bounded
        for a file of any length)."""
        clipped = [text[:MAX_CHARS] for text in texts]
        chunks = [
            self._decisions(clipped[start : start + CHUNK], segmenter)
            for start in range(0, len(clipped), CHUNK)
        ]
        if not chunks:
            return np.empty((0, len(self.classes)))
        return self.calibrated(np.concatenate(chunks))

    def calibrated(self, decision: np.ndarray) -> np.ndarray:
        """The class probabilities of rows of decision values: each class's isotonic step
        function, the row normalised (uniform where every class gets zero)."""
        probabilities = np.empty_like(decision)
        for k, (low, high, xs, ys) in enumerate(self._steps):
            probabilities[:, k] = np.interp(np.clip(decision[:, k], low, high), xs, ys)
        total = probabilities.sum(axis=1, keepdims=True)
        uniform = np.full_like(probabilities, 1.0 / len(self.classes))
        result: np.ndarray = np.divide(probabilities, total, out=uniform, where=total != 0)
        return result

    def probabilities_reference(self, texts: Sequence[str], segmenter: Segmenter) -> np.ndarray:
        """scikit-learn's own predict_proba, for the test that the fast path agrees with it."""
        features = self._features(self.words, self.chars, self.leads, texts, segmenter, fit=False)
        reference: np.ndarray = self.classifier.predict_proba(features)
        return reference

    def save(self, path: Path) -> None:
        """A gzip-compressed pickle: read back by the C unpickler in well under a second (joblib
        reads with its Python one, about five times slower for these vocabularies)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "version": self.version,
            "words": self.words,
            "chars": self.chars,
            "leads": self.leads,
            "classifier": self.classifier,
        }
        path.write_bytes(gzip.compress(pickle.dumps(payload, protocol=5), compresslevel=3))

    @classmethod
    def load(cls, path: Path) -> CategoryModel:
        # Our own artifact, built by `make model` (a pickle runs code: never load a foreign one).
        payload = pickle.loads(gzip.decompress(path.read_bytes()))  # noqa: S301
        return cls(**payload)


def train_artifact(
    lists: Lists, *, data: Path = TRAINING_DATA, artifact: Path = DEFAULT_ARTIFACT
) -> tuple[CategoryModel, float, list[Path], dict[str, int]]:
    """Train on every labelled message and every exported operator decision, write the
    artifact; returns it, the seconds taken, the files read and the categories left out."""
    started = time.perf_counter()
    files = training_files(data)
    examples, rare = training_examples(files)
    model = CategoryModel.train(
        [e.text for e in examples],
        [e.label for e in examples],
        Segmenter(lists_words(lists)),
        version=data_version(*files),
    )
    model.save(artifact)
    return model, time.perf_counter() - started, files, rare
